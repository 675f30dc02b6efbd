"""LocalTinker end to end: SkyRL tx on the stand-in Qwen3, trained with the bare ``tinker`` SDK.

Needs the worker's install (``skyrl-tx[tinker]``, ``tinker==0.16.1``, jax, ``tml-renderers``);
skipped elsewhere. The stand-in has tied embeddings and the client sets ``train_unembed=False``:
on the CPU the engine's lm_head LoRA (``jax.lax.ragged_dot`` over the 151,936-token vocabulary)
is most of a step's cost, and tying removes it (about 1 s a step instead of 5-20 s).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

if importlib.util.find_spec("tinker") is None or importlib.util.find_spec("tx") is None:
    pytest.skip("needs the worker's install (`nox -s worker`)", allow_module_level=True)

from app.localtinker import LocalTinker, build_standin_model, default_cache_dir
from app.localtinker.server import group_members

FAST_BACKEND = {
    "max_lora_adapters": 3,
    "max_lora_rank": 32,
    "loss_chunk_size": 0,
    "train_micro_batch_size": 1,
}


def test_trains_saves_and_stops_cleanly(tmp_path: Path) -> None:
    import tinker
    from tinker import types

    model = build_standin_model(
        default_cache_dir() / "standin-test-h32l1-tied",
        hidden_size=32,
        layers=1,
        attention_heads=2,
        kv_heads=1,
        tie_word_embeddings=True,
    )
    rows = []
    for i, length in enumerate((100, 120, 90, 110)):
        tokens = [(i * 7919 + j * 31) % 150_000 for j in range(length + 1)]
        weights = [0.0] * 20 + [1.0] * (length - 20)
        rows.append(
            types.Datum(
                model_input=types.ModelInput.from_ints(tokens[:-1]),
                loss_fn_inputs={"target_tokens": tokens[1:], "weights": weights},
            )
        )
    total_weight = sum(sum(row.loss_fn_inputs["weights"].tolist()) for row in rows)

    server = LocalTinker(tmp_path / "run", model_dir=model, backend_config=FAST_BACKEND)
    with server:
        service = tinker.ServiceClient(base_url=server.base_url, api_key=server.api_key)
        trainer = service.create_lora_training_client(
            base_model="Qwen/Qwen3-8B", rank=8, train_unembed=False
        )
        losses = []
        for _ in range(3):
            output = trainer.forward_backward(rows, "cross_entropy").result()
            trainer.optim_step(types.AdamParams(learning_rate=1e-2)).result()
            assert output.metrics == {}  # SkyRL tx reports none: the loss is ours to compute
            loss = sum(
                -logprob * weight
                for out, row in zip(output.loss_fn_outputs, rows, strict=True)
                for logprob, weight in zip(
                    out["logprobs"].tolist(), row.loss_fn_inputs["weights"].tolist(), strict=True
                )
            )
            losses.append(loss / total_weight)
        saved = trainer.save_state("ckpt-1").result()
        group = server.pid
        assert group is not None
        assert group_members(group), "the server should be running inside the block"

    assert losses[0] > losses[1] > losses[2], losses
    assert 11.0 < losses[0] < 12.5  # about ln(151936) = 11.93 at random initialisation
    assert saved.path.endswith("/weights/ckpt-1")
    assert group_members(group) == []
    assert "Starting background engine" in server.log_text()
