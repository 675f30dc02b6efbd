"""A run's plan: which rows each step trains on, at which learning rate, and what each step costs.

The plan is a pure function of the job (its rows, its hyperparameters and its id), so a worker
that resumes a job from a checkpoint rebuilds exactly the plan the first worker followed and
carries on at the next step, training no step twice beyond the checkpoint.

Rows are shuffled once per epoch with a seed made of the job's id and the epoch (the cookbook
shuffles per epoch too); each step takes ``batch_size`` rows, the epoch's last step the rest.
``steps``, when given, caps the run; an RL job's ``steps`` without ``epochs`` sets its length
instead: its prompts are dealt again, reshuffled, as many times as the steps need (an RL run
samples afresh on every pass, so a prompt seen again still teaches). The learning rate falls
linearly from the job's rate to zero over the run, the Tinker cookbook's default schedule for
supervised runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.training.estimates import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "Step", "TrainingPlan", "make_plan"]


@dataclass(frozen=True)
class Step:
    """One optimizer step: its epoch (1-based), the rows it trains on (indices into the rows),
    and whether it ends its epoch."""

    epoch: int
    rows: tuple[int, ...]
    ends_epoch: bool


@dataclass(frozen=True)
class TrainingPlan:
    """Every step of a run, and its peak learning rate."""

    steps: tuple[Step, ...]
    learning_rate: float

    @property
    def total_steps(self) -> int:
        return len(self.steps)

    def learning_rate_at(self, index: int) -> float:
        """The rate of step ``index`` (0-based): linear decay from the peak to zero."""
        return self.learning_rate * (1 - index / self.total_steps)

    def trained_tokens_before(self, index: int, tokens_per_row: Sequence[int]) -> int:
        """Tokens trained on by the steps before ``index``: what a resumed run has done."""
        return sum(tokens_per_row[row] for step in self.steps[:index] for row in step.rows)

    def epochs_before(self, index: int) -> int:
        """Whole epochs done by the steps before ``index``."""
        return sum(1 for step in self.steps[:index] if step.ends_epoch)


def make_plan(
    job_id: str, rows: int, hyperparameters: dict[str, Any], *, steps_set_length: bool = False
) -> TrainingPlan:
    """The plan for ``rows`` rows under the job's effective hyperparameters; with
    ``steps_set_length`` (RL), ``steps`` without ``epochs`` is the run's length."""
    batch_size = hyperparameters.get("batch_size") or DEFAULT_BATCH_SIZE
    cap: int | None = hyperparameters.get("steps")
    per_epoch = math.ceil(rows / batch_size)
    epochs = hyperparameters.get("epochs")
    if epochs is None:
        lengthen = steps_set_length and cap is not None and per_epoch > 0
        epochs = math.ceil(cap / per_epoch) if lengthen and cap is not None else DEFAULT_EPOCHS
    steps: list[Step] = []
    for epoch in range(1, epochs + 1):
        order = list(range(rows))
        random.Random(f"{job_id}:{epoch}").shuffle(order)  # noqa: S311 - an order, not a secret
        for start in range(0, rows, batch_size):
            chunk = tuple(order[start : start + batch_size])
            steps.append(
                Step(epoch=epoch, rows=chunk, ends_epoch=start // batch_size == per_epoch - 1)
            )
    if cap is not None:
        steps = steps[:cap]
    return TrainingPlan(steps=tuple(steps), learning_rate=float(hyperparameters["learning_rate"]))
