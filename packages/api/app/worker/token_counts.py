"""A dataset's exact tokens, per renderer: what one pass of a job on each catalog model sends.

A dataset's byte figures only bound its tokens from above. The exact count needs the model's own
renderer (``app.worker.rendering``: its chat template and tokenizer), which the API process does
not load, so the workers count, in the background, once per dataset: every row rendered with the
renderer of each catalog model that could train on it today. Models whose renderer renders every
row alike (the same name and, where it matters, variant) share one count.

Per renderer: ``tokens_processed`` (every token of every rendered sequence: a chat with several
assistant turns is one sequence per turn, as the trainer sends it), ``tokens_trained`` (the
tokens with a loss weight, the targets a datum trains on), and the longest sequence with its
line. A row that renderer cannot render leaves that renderer's figures null and says which line
and why (a job on those models would fail on it); the other renderers still count.

Counts are kept with the key of the catalog they were made for (``catalog_key``: every catalog
id's renderer group). A release that adds a model, or changes which renderer a model uses, has
another key: its workers count every dataset counted under an older key again, while the old
figures keep serving (the dataset stays ``ready``) until the new ones replace them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update

from app.models import Dataset
from app.schemas import TokenCountStatus
from app.training.catalog import TINKER_MODELS, TrainingModel, filter_training_models
from app.worker.dataset import DatasetRow, DatasetUnusableError, stored_rows
from app.worker.rendering import (
    RowRenderer,
    RowRenderError,
    UnknownRendererError,
    get_row_renderer,
    renderer_key,
)
from app.worker.train import WorkerContext

__all__ = [
    "catalog_key",
    "count_dataset",
    "count_rows",
    "pending_datasets",
    "record_failure",
    "renderer_groups",
]

logger = logging.getLogger("app.worker")

PENDING = TokenCountStatus.PENDING


def renderer_groups(
    on: date | None = None, *, models: Iterable[TrainingModel] | None = None
) -> dict[tuple[str, str], list[str]]:
    """The catalog's trainable ids on that day (``:peft:`` ids too), or ``models``, grouped by
    what decides their rendering; ids whose renderer is not rendered here are left out (jobs
    on them are refused at creation)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for model in filter_training_models(on=on) if models is None else models:
        if model.renderer is None:
            continue
        try:
            key = renderer_key(model.renderer.value, model.tinker_id)
        except UnknownRendererError:
            continue
        extended = model.extended_context_id
        groups.setdefault(key, []).extend([model.tinker_id, *([extended] if extended else [])])
    return groups


@cache
def catalog_key() -> str:
    """The key of what decides a dataset's counts: every id in the catalog's code (retiring and
    retired ones too, so that a retirement day counts nothing again) with its renderer group."""
    groups = renderer_groups(models=TINKER_MODELS)
    canonical = sorted([*key, sorted(ids)] for key, ids in groups.items())
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:16]


def _to_count() -> ColumnElement[bool]:
    """Datasets to count: pending ones, and ready ones counted for another catalog."""
    catalog = Dataset.token_counts_catalog
    stale = or_(catalog.is_(None), catalog != catalog_key())
    return or_(
        Dataset.token_counts_status == PENDING,
        and_(Dataset.token_counts_status == TokenCountStatus.READY, stale),
    )


def count_rows(renderer: RowRenderer, rows: Iterable[DatasetRow]) -> dict[str, Any]:
    """One renderer's figures over ``rows``, or its ``error`` at the first row it cannot
    render."""
    processed = trained = longest = 0
    longest_line: int | None = None
    for row in rows:
        try:
            sequences = renderer.render(row.row, row.line)
        except RowRenderError as err:
            return {
                "tokens_processed": None,
                "tokens_trained": None,
                "longest_row_tokens": None,
                "longest_row_line": None,
                "error": str(err),
            }
        for sequence in sequences:
            processed += len(sequence.tokens)
            # The weight on token 0 never counts: a datum's targets are tokens[1:].
            trained += sum(1 for weight in sequence.weights[1:] if weight > 0)
            if len(sequence.tokens) > longest:
                longest, longest_line = len(sequence.tokens), row.line
    return {
        "tokens_processed": processed,
        "tokens_trained": trained,
        "longest_row_tokens": longest,
        "longest_row_line": longest_line,
        "error": None,
    }


def count_dataset(dataset_id: str, ctx: WorkerContext) -> None:
    """Count one dataset that is pending, or counted for another catalog, and record the result
    (``ready``, or ``failed`` with why); a dataset deleted meanwhile, or counted for this
    catalog already, is left alone."""
    with ctx.db.session() as session:
        dataset = session.scalars(
            select(Dataset).where(Dataset.id == dataset_id, _to_count())
        ).one_or_none()
        if dataset is None:
            return
        session.expunge(dataset)
    try:
        rows = stored_rows(dataset, ctx.settings)
    except DatasetUnusableError as err:
        record_failure(ctx, dataset_id, err.message)
        return
    counts = []
    for (name, _variant), models in sorted(renderer_groups().items()):
        renderer = get_row_renderer(name, models[0])
        counts.append({"renderer": name, "models": models, **count_rows(renderer, rows)})
    _record(ctx, dataset_id, status=TokenCountStatus.READY, counts=counts, error=None)
    logger.info("dataset %s: tokens counted with %d renderers", dataset_id, len(counts))


def record_failure(ctx: WorkerContext, dataset_id: str, error: str) -> None:
    """A count that could not be made: a pending dataset's counts are ``failed``, saying why;
    a dataset counted before (for another catalog) keeps its counts, which still serve, and is
    marked counted for this catalog so that it is not tried again and again."""
    _record(ctx, dataset_id, status=TokenCountStatus.FAILED, counts=None, error=error[:2000])
    with ctx.db.session() as session:
        kept = session.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id, _to_count())
            .values(token_counts_catalog=catalog_key())
            .returning(Dataset.id)
        ).all()
        session.commit()
    if kept:
        logger.warning("dataset %s: not counted again (%s); its counts stand", dataset_id, error)


def _record(
    ctx: WorkerContext,
    dataset_id: str,
    *,
    status: TokenCountStatus,
    counts: list[dict[str, Any]] | None,
    error: str | None,
) -> None:
    """Record a count's outcome on a dataset still to count: counts on any, a failure on a
    pending one only (a dataset counted before keeps its counts: ``record_failure``)."""
    waiting = Dataset.token_counts_status == PENDING if counts is None else _to_count()
    with ctx.db.session() as session:
        session.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id, waiting)
            .values(
                token_counts_status=status,
                token_counts=counts,
                token_counts_error=error,
                token_counts_catalog=catalog_key(),
            )
        )
        session.commit()


def pending_datasets(ctx: WorkerContext, limit: int) -> list[tuple[str, str]]:
    """Datasets waiting for their counts, oldest first, then those counted for another catalog
    (whose old counts serve meanwhile: a new upload does not wait behind them). Each comes with
    the key of its count: the dataset, the catalog it is counted for and the one its counts
    were made for (none yet), so that counting a dataset again for a new catalog is a new
    workflow, and each count happens once however many workers see it."""
    never_counted = case((Dataset.token_counts_status == PENDING, 0), else_=1)
    query = (
        select(Dataset.id, Dataset.token_counts_catalog)
        .where(_to_count())
        .order_by(never_counted, Dataset.seq)
        .limit(limit)
    )
    with ctx.db.session() as session:
        rows = session.execute(query).all()
    return [
        (f"{dataset_id}-{catalog_key()}-{made or 'new'}", dataset_id) for dataset_id, made in rows
    ]
