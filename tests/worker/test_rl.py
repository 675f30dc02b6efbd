"""RL jobs run on the local Tinker engine: sampled, graded and trained until the reward rises,
cancelled within a step, and resumed from a checkpoint after a killed worker.

The engine's stand-in writes a few first tokens far more often than the rest (``rl_jobs``). The
README's example (``examples/rl-prompts.jsonl``, ``examples/rl-grader.json``) rewards the token
the untrained stand-in writes most often after its prompts: it earns the reward now and then,
and RL must make it earn it nearly always. The test asks the engine which token that is, so the
example cannot go stale unnoticed.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

from tests.worker.conftest import CHECKPOINT_EVERY, Deployment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Completions per prompt, and prompts per step: the README's example.
GROUP_SIZE = 8
PROMPTS_PER_STEP = 2
#: A rate at which the stand-in learns its one-token answer within a couple of steps.
LEARNING_RATE = 0.002


def _example() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The README's RL example: its prompt rows and its grader."""
    lines = (EXAMPLES / "rl-prompts.jsonl").read_text(encoding="utf-8").splitlines()
    grader = json.loads((EXAMPLES / "rl-grader.json").read_text(encoding="utf-8"))
    return [json.loads(line) for line in lines], grader


def _favourite(jobs: Deployment, prompt: str) -> str:
    """The text of the first token the untrained model writes most often after ``prompt`` (as
    the worker renders it), from 64 samples of the base model on the test's engine."""
    import tinker
    from tinker import types as tinker_types

    from app.worker.rendering import get_row_renderer

    renderer = get_row_renderer("qwen3", "Qwen/Qwen3-8B")
    tokens = renderer.render_prompt({"prompt": prompt}, 1)
    service = tinker.ServiceClient(
        base_url=jobs.engine_env["TINKER_BASE_URL"], api_key=jobs.engine_env["TINKER_API_KEY"]
    )
    sampler = service.create_sampling_client(base_model=jobs.engine_model)
    answer = sampler.sample(
        prompt=tinker_types.ModelInput.from_ints(tokens),
        num_samples=64,
        sampling_params=tinker_types.SamplingParams(max_tokens=1, seed=12345),
    ).result()
    counts = collections.Counter(sequence.tokens[0] for sequence in answer.sequences)
    return renderer.completion_text([counts.most_common(1)[0][0]]).strip()


def _prompts(jobs: Deployment, path: Path, copies: int) -> tuple[str, dict[str, Any]]:
    """The README's example uploaded (its rows ``copies`` times), after checking that each row's
    answer is still what the untrained stand-in writes most often; and its grader."""
    rows, grader = _example()
    for row in rows:
        assert row["answer"] == _favourite(jobs, row["prompt"]), "examples/ is stale"
    return jobs.upload(path, rows * copies), grader


def _job(
    jobs: Deployment, dataset: str, grader: dict[str, Any], algorithm: str, steps: int, **more: Any
) -> str:
    """An RL job on the example's settings: one-token completions, 8 per prompt, 2 prompts a
    step."""
    return jobs.create_rl_job(
        dataset,
        grader=grader,
        algorithm=algorithm,
        learning_rate=LEARNING_RATE,
        group_size=GROUP_SIZE,
        max_tokens=1,
        batch_size=PROMPTS_PER_STEP,
        steps=steps,
        **more,
    )


def _rewards(jobs: Deployment, job_id: str) -> list[float]:
    with jobs.client() as client:
        points = client.get_job_metrics(job_id).points
    return [point.reward_mean for point in points]


# Sampling, grading and the reward's rise do not touch the database, and cancelling a running
# job is the SFT tests' path on both; the PPO test below runs an RL job to completion, and
# recovers it, on both backends.
@pytest.mark.sqlite_only
def test_rl_job_learns_its_reward_and_cancels_within_a_step(
    rl_jobs: Deployment, tmp_path: Path
) -> None:
    dataset, grader = _prompts(rl_jobs, tmp_path / "prompts.jsonl", 1)
    job_id = _job(rl_jobs, dataset, grader, "importance_sampling", 4)
    rl_jobs.start_worker("rl")
    job = rl_jobs.wait_for_status(job_id, "completed", "failed", "cancelled")
    assert job.status == "completed", job.error
    assert job.progress.step == job.progress.total_steps == 4
    assert (job.sampler_path or "").startswith("tinker://")

    rewards = _rewards(rl_jobs, job_id)
    assert len(rewards) == 4
    assert 0 < rewards[0] < 1, "the untrained model earns the reward now and then"
    assert rewards[-1] > rewards[0]
    assert rewards[-1] >= 0.75

    steps = [event for event in rl_jobs.events(job_id) if event.type == "training_step"]
    first = steps[0].data
    samples = GROUP_SIZE * PROMPTS_PER_STEP
    assert first["sampled_tokens"] == samples  # one token each
    assert first["grading_errors"] == 0
    assert 0 <= first["no_signal_fraction"] <= 1
    assert first["reward_std"] > 0
    # Tokens trained on are the completions of groups that taught something.
    assert first["tokens"] == samples * (1 - first["no_signal_fraction"])
    assert job.processed_tokens == sum(event.data["processed_tokens"] for event in steps)
    assert job.trained_tokens == sum(event.data["tokens"] for event in steps)

    # A second job on the same engine: cancelled while it runs, it stops within a step.
    long_id = _job(rl_jobs, dataset, grader, "importance_sampling", 500)
    rl_jobs.wait_for_step(long_id, 1)
    with rl_jobs.client() as client:
        client.cancel_job(long_id)
    cancelled = rl_jobs.wait_for_status(long_id, "cancelled", "completed", "failed", timeout=60)
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "user"
    assert cancelled.progress.step < 500


def test_killed_rl_worker_resumes_its_ppo_job_from_the_last_checkpoint(
    rl_jobs: Deployment, tmp_path: Path
) -> None:
    dataset, grader = _prompts(rl_jobs, tmp_path / "prompts.jsonl", 2)
    job_id = _job(
        rl_jobs, dataset, grader, "ppo", 6, clip_low_threshold=0.7, clip_high_threshold=1.3
    )
    worker = rl_jobs.start_worker("crashy")
    rl_jobs.wait_for_step(job_id, CHECKPOINT_EVERY + 1)
    worker.kill()
    killed_at = rl_jobs.job(job_id)
    saved = [c.step for c in killed_at.checkpoints if c.checkpoint_type == "training"]
    assert saved == [CHECKPOINT_EVERY]

    rl_jobs.start_worker("crashy")
    job = rl_jobs.wait_for_status(job_id, "completed", "failed", "cancelled")
    assert job.status == "completed", job.error
    assert job.progress.step == job.progress.total_steps == 6
    assert job.hyperparameters["clip_low_threshold"] == 0.7
    restarts = [e for e in rl_jobs.events(job_id) if e.type == "job_restart"]
    assert len(restarts) == 1
    assert f"from step {CHECKPOINT_EVERY}, its last checkpoint" in (restarts[0].message or "")
    trained = [e.data["step"] for e in rl_jobs.events(job_id) if e.type == "training_step"]
    after = trained[trained.index(killed_at.progress.step) + 1 :]
    assert after == list(range(CHECKPOINT_EVERY + 1, 7))
    rewards = _rewards(rl_jobs, job_id)
    assert len(rewards) == 6
    # Step 3, trained twice, counts once: as the adapter holds it.
    with rl_jobs.client() as client:
        curve = client.get_job_metrics(job_id).points
    assert job.trained_tokens == sum(point.tokens for point in curve)
    assert rewards[-1] >= 0.75
