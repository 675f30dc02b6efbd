"""The run's plan: what a resumed worker rebuilds must be what the first one followed."""

from __future__ import annotations

import itertools

from app.worker.plan import DEFAULT_BATCH_SIZE, make_plan

HYPERPARAMETERS = {"learning_rate": 1e-3, "batch_size": 4, "epochs": 2}


def test_make_plan_covers_every_row_once_per_epoch() -> None:
    plan = make_plan("job-1", 10, HYPERPARAMETERS)
    assert plan.total_steps == 6  # ceil(10 / 4) = 3 steps a pass, two passes
    for epoch in (1, 2):
        rows = [row for step in plan.steps if step.epoch == epoch for row in step.rows]
        assert sorted(rows) == list(range(10))
    assert [len(step.rows) for step in plan.steps] == [4, 4, 2, 4, 4, 2]
    assert [step.ends_epoch for step in plan.steps] == [False, False, True] * 2


def test_make_plan_is_the_same_for_the_same_job_and_differs_by_epoch() -> None:
    first = make_plan("job-1", 50, HYPERPARAMETERS)
    again = make_plan("job-1", 50, HYPERPARAMETERS)
    other = make_plan("job-2", 50, HYPERPARAMETERS)
    assert first == again
    assert first.steps != other.steps
    # Each pass is shuffled anew, so a model does not see the rows in one order every epoch.
    assert first.steps[0].rows != first.steps[13].rows


def test_make_plan_caps_the_run_at_steps() -> None:
    plan = make_plan("job-1", 100, {**HYPERPARAMETERS, "steps": 5})
    assert plan.total_steps == 5


def test_rl_steps_without_epochs_deal_the_prompts_again_until_the_run_is_that_long() -> None:
    rl = {"learning_rate": 1e-3, "batch_size": 4, "steps": 7}
    plan = make_plan("job-1", 10, rl, steps_set_length=True)
    assert plan.total_steps == 7  # 3 steps a pass over 10 prompts: a third pass, cut short
    assert [step.epoch for step in plan.steps] == [1, 1, 1, 2, 2, 2, 3]
    assert sorted(row for step in plan.steps[3:6] for row in step.rows) == list(range(10))
    # Epochs given still bound the run; an SFT job's steps only ever cap it.
    assert make_plan("job-1", 10, {**rl, "epochs": 1}, steps_set_length=True).total_steps == 3
    assert make_plan("job-1", 10, rl).total_steps == 3


def test_make_plan_defaults_batch_size_and_one_epoch() -> None:
    plan = make_plan("job-1", DEFAULT_BATCH_SIZE * 2 + 1, {"learning_rate": 1e-4})
    assert plan.total_steps == 3
    assert {step.epoch for step in plan.steps} == {1}


def test_learning_rate_falls_linearly_to_zero() -> None:
    plan = make_plan("job-1", 16, HYPERPARAMETERS)  # 8 steps
    rates = [plan.learning_rate_at(index) for index in range(plan.total_steps)]
    assert rates[0] == 1e-3
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] == 1e-3 / 8


def test_counters_before_a_resume_point_count_only_steps_done() -> None:
    plan = make_plan("job-1", 10, HYPERPARAMETERS)
    tokens = list(range(1, 11))  # row i trains on i + 1 tokens
    assert plan.trained_tokens_before(0, tokens) == 0
    assert plan.trained_tokens_before(3, tokens) == sum(tokens)  # one whole epoch
    assert plan.trained_tokens_before(6, tokens) == 2 * sum(tokens)
    assert (plan.epochs_before(2), plan.epochs_before(3), plan.epochs_before(6)) == (0, 1, 2)
