"""What a job costs, in the words ``dn`` prints: its tokens, the estimate and the price it rests
on, and what the job has spent against its cap.

``dn train sft|rl`` (a dry run's answer and a new job) and ``dn train jobs get`` show the same
figures, so they are worded once here, as (label, text) pairs each command lays out its own way.
The figures are the API's (``Job``, ``JobValidation``); an older server sends none of them, and
that is said as such rather than read as a job that costs nothing. The texts hold the server's
strings as they came: the caller escapes them (``printable``) as it writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from dreadnode.cli.output import format_usd

if TYPE_CHECKING:
    from dreadnode.client import CostEstimate, Job, JobValidation

__all__ = [
    "NO_PRICE_AT_CREATION",
    "SERVER_WITHOUT_ESTIMATES",
    "SERVER_WITHOUT_SPENDING",
    "cost_fields",
    "describe_estimate",
    "describe_price",
    "describe_spend",
    "describe_tokens",
    "estimate_fields",
]

#: Why there is no estimate when the answer has none at all (a server from before estimates).
SERVER_WITHOUT_ESTIMATES: Final = "this server does not estimate costs"
#: Why a job's spend is unknown when the answer says nothing of it (a server from before caps).
SERVER_WITHOUT_SPENDING: Final = "this server does not report spending"
#: Why a job's spend is unknown when the server priced none: no train rate was known for its
#: model when it was created, and the spend is priced at that rate only.
NO_PRICE_AT_CREATION: Final = "no price known when the job was created"
#: Tinker's rates are per million tokens; three digits tell $0.0625 from $0.06.
RATE_DIGITS: Final = 3


def estimate_fields(
    answer: Job | JobValidation, *, unknown_because: str | None = None
) -> list[tuple[str, str]]:
    """``tokens`` (when the server counted them) and ``estimated cost``; ``unknown_because``
    replaces the server's reason for an unknown cost when the caller knows better."""
    fields = []
    tokens = describe_tokens(answer)
    if tokens is not None:
        fields.append(("tokens", tokens))
    fields.append(("estimated cost", describe_estimate(answer, unknown_because=unknown_because)))
    return fields


def cost_fields(job: Job) -> list[tuple[str, str]]:
    """What ``dn train jobs get`` shows of a job's money: tokens, estimate, and spend."""
    return [*estimate_fields(job), ("spent", describe_spend(job))]


def describe_tokens(answer: Job | JobValidation) -> str | None:
    """``1,234 per epoch, 3,702 in all (3 epochs)``; None when the tokens are not known (the
    estimate's reason then says why)."""
    if answer.tokens_per_epoch is None:
        return None
    text = f"{answer.tokens_per_epoch:,} per epoch"
    if answer.total_tokens is not None:
        text += f", {answer.total_tokens:,} in all{_run_length(answer.hyperparameters or {})}"
    return text


def _run_length(hyperparameters: Mapping[str, Any]) -> str:
    """`` (3 epochs)``, `` (1 epoch, at most 40 steps)``: what the total covers (``steps`` stops
    a run before its epochs end); nothing when the answer names neither."""
    epochs, steps = hyperparameters.get("epochs"), hyperparameters.get("steps")
    parts = []
    if isinstance(epochs, int):
        parts.append(f"{epochs:,} epoch{'s' * (epochs != 1)}")
    if isinstance(steps, int):
        parts.append(f"at most {steps:,} step{'s' * (steps != 1)}")
    return f" ({', '.join(parts)})" if parts else ""


def describe_estimate(answer: Job | JobValidation, *, unknown_because: str | None = None) -> str:
    """``$0.0016 (train $0.44 per million tokens, Tinker's price list of 2026-12-04 16:00
    UTC)``, or ``unknown (<why>)``."""
    basis = answer.cost_estimate
    if answer.estimated_cost_usd is not None:
        amount = format_usd(answer.estimated_cost_usd)
        if basis.train_usd_per_million is None:
            return amount
        return f"{amount} ({describe_price(basis)})"
    if unknown_because is not None:
        return f"unknown ({unknown_because})"
    if "cost_estimate" not in answer.model_fields_set:
        return f"unknown ({SERVER_WITHOUT_ESTIMATES})"
    return f"unknown ({basis.reason or 'the server gave no reason'})"


def describe_price(basis: CostEstimate) -> str:
    """``train $0.44 per million tokens, Tinker's price list of 2026-12-04 16:00 UTC``: the rate
    and which copy of the list it came from (prices change; the date says how fresh it is)."""
    rate = basis.train_usd_per_million
    text = "train rate unknown"
    if rate is not None:
        text = f"train {format_usd(rate, significant=RATE_DIGITS)} per million tokens"
    if basis.price_as_of is not None:
        text += f", Tinker's price list of {_utc_minute(basis.price_as_of)}"
    return text


def _utc_minute(moment: datetime) -> str:
    """``2026-12-04 16:00 UTC``; a time without a zone is taken as UTC, the API's."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe_spend(job: Job) -> str:
    """``$0.0012 of $1.00 cap (2,795 tokens sent)``, ``$0.0012, no cap (...)``, or ``unknown
    (<why>)``: the tokens sent to Tinker so far, priced at the rate known at creation."""
    if not {"spent_usd", "processed_tokens"} & job.model_fields_set:
        return f"unknown ({SERVER_WITHOUT_SPENDING})"
    count = job.processed_tokens
    sent = f"{count:,} token{'s' * (count != 1)} sent"
    cap = None if job.max_cost_usd is None else f"{format_usd(job.max_cost_usd)} cap"
    if job.spent_usd is None:
        details = [NO_PRICE_AT_CREATION]
        if count:
            details.append(sent)
        if cap is not None:
            details.append(cap)
        return f"unknown ({'; '.join(details)})"
    amount = format_usd(job.spent_usd)
    spent = f"{amount}, no cap" if cap is None else f"{amount} of {cap}"
    return f"{spent} ({sent})"
