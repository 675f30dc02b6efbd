"""The training worker: what it costs a step beyond Tinker itself, and how soon it starts a job.

1. Overhead per step. One job of ``STEPS`` steps runs through the real API and a real worker on
   a local Tinker engine (SkyRL tx with the stand-in Qwen3); then, on the same engine, a bare
   ``tinker`` loop trains the very same batches (the same rows, rendered by the same renderer,
   in the plan's order) with nothing around it; then the worker runs the job once more. Each
   side's step time is the median over its steps after the first (the first pays for JAX's
   compilation of new shapes). Goal: the worker's step within 10% of the bare loop's.
2. Creation to ``running`` with an idle worker, p50 and p99 over ``LATENCY_JOBS`` jobs created
   one after another, beside the creation request's own latency in the same run (what the user
   already waits for). The jobs name a URI where nothing answers, so each fails at once after
   it starts, without Tinker: this measures the queue, not training. Goal: p99 under 2 s.

Needs the API with its worker extra and the local engine (``nox -s bench`` installs them).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from live_stack import client_for, median_step_gap, running_stack, wait_finished

STEPS = 12
LATENCY_JOBS = 30
OVERHEAD_TARGET = 1.10
LATENCY_P99_TARGET_S = 2.0
ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"What is {a} plus {b}?"},
            {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
        ]
    }
    for a in range(1, 7)
    for b in range(1, 9)
]
HYPERPARAMETERS = {"learning_rate": 1e-2, "lora_rank": 8, "batch_size": 4, "steps": STEPS}


def _worker_step_seconds(client: Any, dataset: str) -> float:
    job = client.create_job(
        base_model="Qwen/Qwen3-8B", method="sft", dataset=dataset, hyperparameters=HYPERPARAMETERS
    )
    finished = wait_finished(client, job.id, 600)
    if finished.status != "completed":
        raise RuntimeError(f"the benchmark's job ended {finished.status}: {finished.error}")
    return median_step_gap(client, job.id)


def _bare_step_seconds(base_url: str, api_key: str, job_id: str) -> float:
    """The same batches through ``tinker`` alone: render, plan, forward_backward, optim_step."""
    import tinker

    from app.worker.plan import make_plan
    from app.worker.rendering import get_row_renderer, to_datum

    renderer = get_row_renderer("qwen3", "Qwen/Qwen3-8B")
    datums = [[to_datum(r) for r in renderer.render(row, line)] for line, row in enumerate(ROWS, 1)]
    plan = make_plan(job_id, len(ROWS), HYPERPARAMETERS)
    service = tinker.ServiceClient(base_url=base_url, api_key=api_key)
    training = service.create_lora_training_client(base_model="Qwen/Qwen3-8B", rank=8)
    times = []
    for index, step in enumerate(plan.steps):
        batch = [datum for row in step.rows for datum in datums[row]]
        started = time.perf_counter()
        training.forward_backward(data=batch, loss_fn="cross_entropy").result()
        rate = plan.learning_rate_at(index)
        training.optim_step(adam_params=tinker.types.AdamParams(learning_rate=rate)).result()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def measure_overhead(directory: Path, url: str, token: str, engine: Any) -> bool:
    dataset_file = directory / "chat.jsonl"
    dataset_file.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    with client_for(url, token) as client:
        dataset = client.upload_dataset(dataset_file).id
        first = _worker_step_seconds(client, dataset)
        # The bare loop trains the plan of some job of the same shape (its own id's order).
        bare = _bare_step_seconds(engine.base_url, engine.api_key, "bare-loop")
        second = _worker_step_seconds(client, dataset)
    worker = min(first, second)
    ratio = worker / bare
    met = ratio <= OVERHEAD_TARGET
    print(f"step, worker (median, 2 runs):    {first:.3f} s, {second:.3f} s")
    print(f"step, bare tinker loop (median):  {bare:.3f} s")
    print(
        f"worker / bare: {ratio:.2f}x; target (within {OVERHEAD_TARGET - 1:.0%}): "
        f"{'met' if met else 'MISSED'}"
    )
    return met


def measure_start_latency(url: str, token: str) -> bool:
    starts: list[float] = []
    creations: list[float] = []
    with client_for(url, token) as client:
        for _ in range(LATENCY_JOBS):
            began = time.perf_counter()
            job = client.create_job(
                base_model="Qwen/Qwen3-8B",
                method="sft",
                dataset="https://127.0.0.1:9/unreachable.jsonl",
                hyperparameters={"learning_rate": 1e-4},
            )
            creations.append(time.perf_counter() - began)
            wait_finished(client, job.id, 60)
            events = {e.type: e.created_at for e in client.list_job_events(job.id).events}
            starts.append((events["job_start"] - events["job_pending"]).total_seconds())
    starts.sort()
    p50 = statistics.median(starts)
    p99 = starts[min(len(starts) - 1, round(0.99 * (len(starts) - 1)))]
    creation = statistics.median(creations)
    met = p99 < LATENCY_P99_TARGET_S
    print(
        f"creation -> running, idle worker ({LATENCY_JOBS} jobs): p50 {p50:.3f} s, p99 {p99:.3f} s"
    )
    print(
        f"creation request itself (median): {creation:.3f} s; p50 / creation: {p50 / creation:.1f}x"
    )
    print(f"target (p99 < {LATENCY_P99_TARGET_S:g} s): {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    with running_stack("bench-worker-") as stack:
        results = [
            measure_overhead(stack.directory, stack.url, stack.token, stack.engine),
            measure_start_latency(stack.url, stack.token),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
