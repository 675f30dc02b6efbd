"""What a job costs, end to end: the API prices a job from its dataset's exact token counts and
Tinker's price list (served on loopback in Tinker's format), the worker spends exactly that,
and a job with a cap the run would break is stopped by the worker before it spends anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.worker.conftest import CHAT_ROWS, TRAIN_USD_PER_MILLION, Deployment, wait_for


def _priced(jobs: Deployment, dataset_id: str) -> Any:
    """The validation of a job on the dataset once the API has Tinker's price list."""

    def known() -> Any:
        with jobs.client() as client:
            verdict = client.validate_job(
                base_model="Qwen/Qwen3-8B", method="sft", dataset=dataset_id
            )
        return verdict if verdict.cost_estimate.train_usd_per_million is not None else None

    return wait_for("the API to read the price list", known, timeout=30)


def test_a_job_spends_what_it_was_estimated_and_a_cap_stops_a_job_before_it_spends(
    jobs: Deployment, tmp_path: Path
) -> None:
    dataset = jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    assert _priced(jobs, dataset).cost_estimate.train_usd_per_million == TRAIN_USD_PER_MILLION

    # Created while the tokens are not counted yet: accepted, to be held to its cap as it runs.
    # 8 rows in steps of 4 over 3 epochs: 6 steps of a few hundred tokens, cents at this rate.
    capped_id = jobs.create_job(dataset, batch_size=4, epochs=3, max_cost_usd=0.05)
    capped = jobs.job(capped_id)
    assert capped.cost_estimate.reason == (
        "token counts pending: a worker is counting the dataset's tokens"
    )
    assert (capped.estimated_cost_usd, capped.max_cost_usd) == (None, 0.05)
    jobs.start_worker("spender")

    stopped = jobs.wait_for_status(capped_id, "completed", "failed", "cancelled")
    assert (stopped.status, stopped.cancel_reason) == ("cancelled", "budget"), stopped.error
    # Its rows rendered, the worker knew the run's cost before sending anything: refused then,
    # as creation refuses a job whose estimate is over its cap, with nothing spent.
    assert [e for e in jobs.events(capped_id) if e.type == "training_step"] == []
    assert (stopped.processed_tokens, stopped.spent_usd, stopped.sampler_path) == (0, 0.0, None)
    (cancelled,) = [e for e in jobs.events(capped_id) if e.type == "job_cancelled"]
    assert cancelled.data == {"reason": "budget"}
    assert cancelled.message.startswith("Stopped at step 0: the run sends ")
    assert cancelled.message.endswith("over its max_cost_usd $0.05; nothing was trained")

    # Counted, a job is priced before it runs, and spends exactly what it was priced at.
    def counted() -> Any:
        verdict = _priced(jobs, dataset)
        return verdict if verdict.tokens_per_epoch is not None else None

    wait_for("the dataset's token counts", counted, timeout=180)
    job_id = jobs.create_job(dataset, batch_size=4)  # one epoch: 2 steps
    estimated = jobs.job(job_id)
    assert estimated.total_tokens == estimated.tokens_per_epoch
    assert estimated.estimated_cost_usd == pytest.approx(estimated.total_tokens * 100 / 1e6)
    assert estimated.cost_estimate.reason is None
    # The capped job above would now be refused at once, with the estimate.
    with jobs.client() as client:
        verdict = client.validate_job(
            base_model="Qwen/Qwen3-8B", method="sft", dataset=dataset, max_cost_usd=0.05,
            hyperparameters={"batch_size": 4, "epochs": 3},
        )  # fmt: skip
    assert [error.type for error in verdict.errors] == ["over_budget"]

    done = jobs.wait_for_status(job_id, "completed", "failed", "cancelled")
    assert done.status == "completed", done.error
    assert done.processed_tokens == estimated.total_tokens
    assert done.spent_usd == pytest.approx(estimated.estimated_cost_usd)
