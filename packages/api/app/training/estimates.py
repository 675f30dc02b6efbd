"""What a job will send to Tinker and what that will cost, before it runs.

Tinker bills a supervised run by the tokens of the datums it sends to ``forward_backward``, at
the train rate of the exact id trained (a ``:peft:`` id has its own). A dataset's exact tokens
per renderer are counted by the workers after an upload (``app.worker.token_counts``), and the
rates come from Tinker's published list (``app.training.prices``), so the estimate is a product
of two figures the platform already holds: no renderer runs in the API process.

Every figure may be unknown, and then the estimate says why in words (``reason``) instead of
guessing: the counts are pending, the platform does not hold the data, the list names no price
for the id, an RL run's tokens depend on what the model samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.schemas import JobMethod, TokenCountStatus
from app.training.money import usd

if TYPE_CHECKING:  # validation imports this module: only the types are needed here
    from app.training.prices import PriceList
    from app.training.validation import DatasetFacts

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "CostEstimate",
    "dollars",
    "estimate_job",
]

#: Rows per step when a job names none: the Tinker cookbook's supervised default (the worker's
#: plan uses the same figure).
DEFAULT_BATCH_SIZE = 128
#: Passes over the dataset when a job names none.
DEFAULT_EPOCHS = 1


@dataclass(frozen=True)
class CostEstimate:
    """A job's tokens and price before it runs; each figure None when unknown, ``reason`` then
    saying why the cost is unknown."""

    tokens_per_epoch: int | None = None
    total_tokens: int | None = None
    usd: float | None = None
    train_usd_per_million: float | None = None
    price_as_of: datetime | None = None
    price_source: str | None = None
    reason: str | None = None
    #: Why no train price is known (None when one is), whatever else is unknown.
    price_reason: str | None = None

    def public(self) -> dict[str, Any]:
        """The fields a job answer carries: the figures, and the price's basis as one object."""
        return {
            "tokens_per_epoch": self.tokens_per_epoch,
            "total_tokens": self.total_tokens,
            "estimated_cost_usd": self.usd,
            "cost_estimate": {
                "train_usd_per_million": self.train_usd_per_million,
                "price_as_of": self.price_as_of,
                "price_source": self.price_source,
                "reason": self.reason,
            },
        }


def dollars(value: float) -> str:
    """An amount as a person reads it: cents from a dollar up (``$12.35``), and below one every
    digit to the millionth that is not a trailing zero (``$0.05``, ``$0.0049``), so that a cap of
    $0.004 is not shown as $0.00."""
    if value >= 1 or value == 0:
        return f"${value:,.2f}"
    digits = f"{value:.6f}".rstrip("0")
    return f"${digits}{'0' * max(0, 4 - len(digits))}"


def estimate_job(
    *,
    model_id: str,
    method: JobMethod,
    dataset: DatasetFacts | None,
    reference: str,
    hyperparameters: dict[str, Any],
    prices: PriceList | None,
    prices_configured: bool,
) -> CostEstimate:
    """The estimate for a valid job on ``model_id`` training on ``dataset`` (None: the URI
    ``reference``) with its effective ``hyperparameters``, priced from ``prices``."""
    tokens_per_epoch, token_reason = _tokens_per_epoch(model_id, method, dataset, reference)
    total = None
    if tokens_per_epoch is not None and dataset is not None:
        total = _total_tokens(tokens_per_epoch, dataset.rows, hyperparameters)
    rate, as_of, source, price_reason = _train_price(model_id, prices, prices_configured)
    cost = None if total is None or rate is None else usd(total, rate)
    return CostEstimate(
        tokens_per_epoch=tokens_per_epoch,
        total_tokens=total,
        usd=cost,
        train_usd_per_million=rate,
        price_as_of=as_of,
        price_source=source,
        reason=None if cost is not None else (token_reason or price_reason),
        price_reason=price_reason,
    )


def _tokens_per_epoch(
    model_id: str, method: JobMethod, dataset: DatasetFacts | None, reference: str
) -> tuple[int | None, str | None]:
    """One pass's exact tokens, or why they are not known."""
    if method is JobMethod.RL:
        return None, (
            "an RL job's tokens depend on what the model samples, so they are known only as it runs"
        )
    if dataset is None:
        return None, (
            f"the platform does not hold dataset {reference!r}, so its tokens are not known "
            "(upload it with `dn train datasets upload FILE` to have them counted)"
        )
    status = dataset.token_counts_status
    if status is TokenCountStatus.PENDING:
        return None, "token counts pending: a worker is counting the dataset's tokens"
    if status is not TokenCountStatus.READY:
        why = f": {dataset.token_counts_error}" if dataset.token_counts_error else ""
        return None, f"the dataset's tokens could not be counted{why}"
    rendered = (dataset.rendered or {}).get(model_id)
    if rendered is None or rendered.tokens_processed is None:
        return None, f"the dataset's tokens were not counted for {model_id!r}"
    return rendered.tokens_processed, None


def _total_tokens(tokens_per_epoch: int, rows: int, hyperparameters: dict[str, Any]) -> int:
    """The run's tokens: one pass per epoch, or, when ``steps`` stops the run sooner, the
    tokens of the rows those steps take, as the worker's plan takes them (each epoch's steps
    take ``batch_size`` rows, its last step the rest), at the dataset's mean tokens per row:
    rows are shuffled per run, so which rows, and their exact tokens, are known only as it
    runs."""
    epochs = hyperparameters.get("epochs") or DEFAULT_EPOCHS
    batch_size = hyperparameters.get("batch_size") or DEFAULT_BATCH_SIZE
    full = int(tokens_per_epoch * epochs)
    steps = hyperparameters.get("steps")
    per_epoch = math.ceil(rows / batch_size)
    if steps is None or rows == 0 or steps >= per_epoch * epochs:
        return full
    whole, rest = divmod(int(steps), per_epoch)
    covered = whole * rows + min(rest * batch_size, rows)
    return math.ceil(tokens_per_epoch * covered / rows)


def _train_price(
    model_id: str, prices: PriceList | None, configured: bool
) -> tuple[float | None, datetime | None, str | None, str | None]:
    """The exact id's train rate with when and where the list was fetched, or why none."""
    if prices is None:
        if not configured:
            return None, None, None, "this server reads no price list"
        return (
            None,
            None,
            None,
            ("Tinker's price list has not arrived yet (the server fetches it in the background)"),
        )
    price = prices.prices.get(model_id)
    if price is None:
        reason = f"no price known for {model_id!r} in Tinker's price list"
        return None, prices.fetched_at, prices.source, reason
    return float(price.train), prices.fetched_at, prices.source, None
