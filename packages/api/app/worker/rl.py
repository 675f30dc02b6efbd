"""One RL step: sample completions of each prompt, grade them, and train on their advantages.

An RL job trains on what the model itself writes. Each step takes ``batch_size`` prompts of the
plan (``app.worker.plan``, as SFT takes rows) and, on the adapter's current weights:

1. samples ``group_size`` completions of each prompt (the prompts rendered with the model's
   template, ``RowRenderer.render_prompt``; the seeds are the job's, the step's and the row's,
   so a step run again after a crash samples what it sampled before);
2. decodes each completion (its end token removed) and scores it with the job's grader against
   the prompt's row. A completion the grader or the tokenizer cannot read scores 0 and is
   counted in ``grading_errors``: a model that writes nonsense must learn from it, not fail the
   job;
3. gives each completion its advantage, its reward minus its group's mean (the cookbook's
   group-relative baseline). A group whose completions all scored alike teaches nothing and is
   not sent (``no_signal_fraction`` counts them);
4. builds the datums Tinker's ``importance_sampling`` and ``ppo`` losses take: the prompt and
   the completion as one sequence, ``target_tokens`` shifted by one, the sampler's
   ``logprobs`` and the ``advantages`` on the completion's tokens, zeros on the prompt's (which
   the model did not write), and trains on them with the job's loss (PPO with its clip
   thresholds).

The budget is checked once the datums are known (what a step sends depends on what was
sampled): the step is not sent when it would take the spend over the cap.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.training.graders import Grader, GradingError
from app.worker.rendering import RowRenderer
from app.worker.tinker_calls import Sampled, SampleRequest, TinkerSession

__all__ = ["RLPrompt", "RLSettings", "StepResult", "advantages", "rl_step", "seed"]


@dataclass(frozen=True)
class RLPrompt:
    """A prompt row, its line and its rendered tokens."""

    row: Mapping[str, Any]
    line: int
    tokens: list[int]


@dataclass(frozen=True)
class RLSettings:
    """The job's RL knobs, its loss and its grader."""

    job_id: str
    group_size: int
    max_tokens: int
    temperature: float
    loss_fn: str
    loss_fn_config: dict[str, float] | None
    grader: Grader

    @classmethod
    def of(
        cls, job_id: str, algorithm: str, knobs: Mapping[str, Any], grader: Grader
    ) -> RLSettings:
        config = None
        if algorithm == "ppo":
            config = {
                "clip_low_threshold": float(knobs["clip_low_threshold"]),
                "clip_high_threshold": float(knobs["clip_high_threshold"]),
            }
        return cls(
            job_id=job_id,
            group_size=int(knobs["group_size"]),
            max_tokens=int(knobs["max_tokens"]),
            temperature=float(knobs["temperature"]),
            loss_fn=algorithm,
            loss_fn_config=config,
            grader=grader,
        )


@dataclass(frozen=True)
class StepResult:
    """What one step sent and learnt: the loss per trained token, the completion tokens
    trained on, every token sent to ``forward_backward``, and the step's reward figures (or,
    in ``over_budget``, why it was not sent)."""

    loss: float
    tokens: int
    sent: int
    figures: dict[str, Any]
    over_budget: str | None = None


def seed(job_id: str, step: int, line: int) -> int:
    """The sampling seed of one prompt at one step: the same on every attempt."""
    digest = hashlib.sha256(f"{job_id}:{step}:{line}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def advantages(rewards: Sequence[float]) -> list[float]:
    """Each reward minus the group's mean."""
    mean = math.fsum(rewards) / len(rewards)
    return [reward - mean for reward in rewards]


def _score(
    settings: RLSettings, renderer: RowRenderer, prompt: RLPrompt, sample: Sampled
) -> float | None:
    """The completion's reward, or None when it cannot be read or graded (scored 0)."""
    try:
        text = renderer.completion_text(sample.tokens)
        return float(settings.grader.score(text, prompt.row))
    except (GradingError, ValueError, TypeError, ArithmeticError):
        return None


def _datum(prompt: RLPrompt, sample: Sampled, advantage: float) -> Any:
    from tinker import types as tinker_types  # type: ignore[import-not-found,unused-ignore]

    tokens = prompt.tokens + sample.tokens
    count = len(tokens) - 1
    given = len(prompt.tokens) - 1
    completion = len(sample.tokens)
    logprobs = [0.0] * given + list(sample.logprobs)
    return tinker_types.Datum(
        model_input=tinker_types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={
            "target_tokens": tinker_types.TensorData(data=tokens[1:], dtype="int64", shape=[count]),
            "logprobs": tinker_types.TensorData(data=logprobs, dtype="float32", shape=[count]),
            "advantages": tinker_types.TensorData(
                data=[0.0] * given + [advantage] * completion, dtype="float32", shape=[count]
            ),
        },
    )


def rl_step(
    tinker: TinkerSession,
    settings: RLSettings,
    renderer: RowRenderer,
    prompts: Sequence[RLPrompt],
    *,
    step: int,
    learning_rate: float,
    refuses: Any,
) -> StepResult:
    """Sample, grade and train one step (the module's docstring). ``refuses(tokens)`` says why
    sending ``tokens`` would break the job's budget, or None."""
    sampler = tinker.sampler()
    request = SampleRequest(
        count=settings.group_size,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        stop=renderer.stop,
        seeds=[seed(settings.job_id, step, prompt.line) for prompt in prompts],
    )
    groups = tinker.sample(sampler, [prompt.tokens for prompt in prompts], request)
    rewards: list[float] = []
    errors = 0
    silent = 0
    datums: list[Any] = []
    sent = 0
    trained = 0
    for prompt, samples in zip(prompts, groups, strict=True):
        scores = [_score(settings, renderer, prompt, sample) for sample in samples]
        errors += sum(score is None for score in scores)
        group = [0.0 if score is None else score for score in scores]
        rewards += group
        shares = advantages(group)
        if all(abs(share) < 1e-12 for share in shares):
            silent += 1
            continue
        for sample, share in zip(samples, shares, strict=True):
            if not sample.tokens or abs(share) < 1e-12:
                continue
            datums.append(_datum(prompt, sample, share))
            sent += len(prompt.tokens) + len(sample.tokens) - 1
            trained += len(sample.tokens)
    figures = {
        "reward_mean": math.fsum(rewards) / len(rewards) if rewards else 0.0,
        "reward_std": statistics.pstdev(rewards) if rewards else 0.0,
        "no_signal_fraction": silent / len(prompts) if prompts else 0.0,
        "sampled_tokens": sum(len(sample.tokens) for samples in groups for sample in samples),
        "grading_errors": errors,
    }
    over = refuses(sent)
    if over is not None:
        return StepResult(loss=0.0, tokens=0, sent=0, figures=figures, over_budget=over)
    if not datums:
        return StepResult(loss=0.0, tokens=0, sent=0, figures=figures)
    output = tinker.train_step(
        datums,
        learning_rate=learning_rate,
        loss_fn=settings.loss_fn,
        loss_fn_config=settings.loss_fn_config,
    )
    loss = math.fsum(
        float(sum(record["elementwise_loss"].tolist())) for record in output.loss_fn_outputs
    )
    return StepResult(loss=loss / trained, tokens=trained, sent=sent, figures=figures)
