"""The training worker on RL jobs: what it costs a step beyond Tinker itself.

One RL job of ``STEPS`` steps runs through the real API and a real worker on a local Tinker
engine (SkyRL tx with the stand-in Qwen3); then, on the same engine, a bare loop written on the
``tinker`` SDK alone does what each step does (the same prompts in the plan's order, rendered by
the same renderer: a sampling client of the current weights, ``GROUP_SIZE`` completions of each
prompt, decoded and graded by the same grader, rewards centred per group, the
``importance_sampling`` datums, ``forward_backward`` and ``optim_step``); then the worker runs the
job once more. The grader is a text similarity to a fixed answer, which the untrained stand-in's
noise never matches exactly: every group has a signal, so every step of both sides samples and
trains the same amount. Each side's step time is the median over its steps after the first (the
first pays for JAX's compilation of new shapes). Goal: the worker's step within 10% of the bare
loop's.

Needs the API with its worker extra and the local engine (``nox -s bench`` installs them).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from live_stack import client_for, median_step_gap, running_stack, wait_finished

STEPS = 8
GROUP_SIZE = 4
OVERHEAD_TARGET = 1.10
ROWS = [{"prompt": f"Write the words for {n}.", "answer": "one two three"} for n in range(1, 9)]
GRADER = {"type": "text_similarity", "field": "answer"}
HYPERPARAMETERS = {
    "learning_rate": 1e-3,
    "lora_rank": 8,
    "batch_size": 4,
    "steps": STEPS,
    "group_size": GROUP_SIZE,
    "max_tokens": 8,
}


def _worker_step_seconds(client: Any, dataset: str) -> float:
    job = client.create_job(
        base_model="Qwen/Qwen3-8B",
        method="rl",
        dataset=dataset,
        grader=GRADER,
        hyperparameters=HYPERPARAMETERS,
    )
    finished = wait_finished(client, job.id, 600)
    if finished.status != "completed":
        raise RuntimeError(f"the benchmark's job ended {finished.status}: {finished.error}")
    return median_step_gap(client, job.id)


def _reward(grader: Any, renderer: Any, tokens: list[int], row: dict[str, Any]) -> float:
    """As the worker scores: a completion that does not decode scores 0."""
    try:
        return float(grader.score(renderer.completion_text(tokens), row))
    except ValueError:
        return 0.0


def _bare_step_seconds(base_url: str, api_key: str, job_id: str) -> float:
    """The same steps through ``tinker`` alone."""
    import tinker
    from tinker import types

    from app.training.graders import parse_grader
    from app.worker.plan import make_plan
    from app.worker.rendering import get_row_renderer

    renderer = get_row_renderer("qwen3", "Qwen/Qwen3-8B")
    grader = parse_grader(GRADER)
    prompts = [renderer.render_prompt(row, line) for line, row in enumerate(ROWS, 1)]
    plan = make_plan(job_id, len(ROWS), HYPERPARAMETERS, steps_set_length=True)
    service = tinker.ServiceClient(base_url=base_url, api_key=api_key)
    training = service.create_lora_training_client(base_model="Qwen/Qwen3-8B", rank=8)
    params = types.SamplingParams(max_tokens=8, temperature=1.0, stop=renderer.stop)
    times = []
    for index, step in enumerate(plan.steps):
        started = time.perf_counter()
        sampler = training.save_weights_and_get_sampling_client()
        futures = [
            sampler.sample(
                prompt=types.ModelInput.from_ints(prompts[row]),
                num_samples=GROUP_SIZE,
                sampling_params=params,
            )
            for row in step.rows
        ]
        datums = []
        for row, future in zip(step.rows, futures, strict=True):
            sequences = future.result().sequences
            rewards = [_reward(grader, renderer, s.tokens, ROWS[row]) for s in sequences]
            mean = statistics.fmean(rewards)
            for sequence, reward in zip(sequences, rewards, strict=True):
                tokens = prompts[row] + sequence.tokens
                given, count = len(prompts[row]) - 1, len(tokens) - 1
                inputs = {
                    "target_tokens": (tokens[1:], "int64"),
                    "logprobs": ([0.0] * given + list(sequence.logprobs or []), "float32"),
                    "advantages": (
                        [0.0] * given + [reward - mean] * len(sequence.tokens),
                        "float32",
                    ),
                }
                datums.append(
                    types.Datum(
                        model_input=types.ModelInput.from_ints(tokens[:-1]),
                        loss_fn_inputs={
                            key: types.TensorData(data=data, dtype=dtype, shape=[count])
                            for key, (data, dtype) in inputs.items()
                        },
                    )
                )
        training.forward_backward(data=datums, loss_fn="importance_sampling").result()
        rate = plan.learning_rate_at(index)
        training.optim_step(adam_params=types.AdamParams(learning_rate=rate)).result()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> int:
    with running_stack("bench-worker-rl-") as stack:
        dataset_file = stack.directory / "prompts.jsonl"
        dataset_file.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
        with client_for(stack.url, stack.token) as client:
            dataset = client.upload_dataset(dataset_file).id
            first = _worker_step_seconds(client, dataset)
            bare = _bare_step_seconds(stack.engine.base_url, stack.engine.api_key, "bare-loop")
            second = _worker_step_seconds(client, dataset)
    worker = min(first, second)
    ratio = worker / bare
    met = ratio <= OVERHEAD_TARGET
    print(f"RL step, worker (median, 2 runs):    {first:.3f} s, {second:.3f} s")
    print(f"RL step, bare tinker loop (median):  {bare:.3f} s")
    print(
        f"worker / bare: {ratio:.2f}x; target (within {OVERHEAD_TARGET - 1:.0%}): "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
