"""``/training/catalog``: list and look up Tinker's base models, with ETags."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from starlette.convertors import PathConvertor, register_url_convertor

from app.api.deps import CatalogDay, CurrentUser, Prices
from app.api.responses import ENTRY_HEADERS, LIFECYCLE_HEADERS, NOT_MODIFIED, error_responses
from app.errors import NotFoundError, ValidationFailedError, error_item
from app.schemas import (
    MAX_OFFSET,
    CatalogEntryPublic,
    PrintableStr,
    RetiredModelsPublic,
    TrainingCatalogResponse,
)
from app.training.catalog import (
    TrainingAlgorithm,
    TrainingModelFamily,
    TrainingModelKind,
    TrainingQueryError,
    describe_unknown_training_model,
)
from app.training.lifecycle import retirement_headers
from app.training.pages import (
    CatalogFilters,
    Rendered,
    catalog_entry,
    catalog_page,
    retired_page,
)

__all__ = ["MAX_QUERY_LENGTH", "router"]

router = APIRouter(prefix="/training/catalog", tags=["catalog"])

#: Longer than any id or display name, with room to spare; bounds the work one query can ask for.
MAX_QUERY_LENGTH = 200


def _size_bound(description: str) -> Any:
    """A size filter: finite, documented as at least 0 (the catalog checks it, and the bounds'
    order, with messages that name the filter)."""
    return Query(allow_inf_nan=False, description=description, json_schema_extra={"minimum": 0})


def _choice(enum: type[StrEnum], description: str) -> Any:
    """A filter the catalog validates (its message lists the allowed values), documented with
    those values, so the schema accepts exactly what the server does."""
    return Query(description=description, json_schema_extra={"enum": [m.value for m in enum]})


class _IdConvertor(PathConvertor):
    """A catalog id: a path (ids hold a slash) of at least one character. Without that bound,
    "/training/catalog/" would look up the id '' instead of redirecting to the list, as every
    other route does for a trailing slash."""

    regex = ".+"


register_url_convertor("catalog_id", _IdConvertor())


def _conditional(
    rendered: Rendered, if_none_match: str | None, extra: dict[str, str] | None = None
) -> Response:
    headers = {"ETag": rendered.etag, **(extra or {})}
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if rendered.etag in candidates or "*" in candidates:
            return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


@router.get(
    "",
    response_model=TrainingCatalogResponse,
    responses={
        200: {"description": "One page of matches", "headers": ENTRY_HEADERS},
        **NOT_MODIFIED,
    },
)
async def read_catalog(
    *,
    _user: CurrentUser,
    query: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_LENGTH,
            description="Words that must all appear in the id or display name",
        ),
    ] = None,
    family: Annotated[str | None, _choice(TrainingModelFamily, "The model family")] = None,
    algorithm: Annotated[
        str | None, _choice(TrainingAlgorithm, "A training algorithm the model supports")
    ] = None,
    min_size_b: Annotated[
        float | None,
        _size_bound("Smallest size: billions of active parameters (all, for a dense model)"),
    ] = None,
    max_size_b: Annotated[
        float | None,
        _size_bound("Largest size: billions of active parameters (all, for a dense model)"),
    ] = None,
    kind: Annotated[
        str | None, _choice(TrainingModelKind, "Chat (instruction-tuned) or base models")
    ] = None,
    vision: Annotated[
        bool | None, Query(description="Only models that take images, or only those that do not")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="The page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Matching entries to skip")] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
    day: CatalogDay,
    prices: Prices,
) -> Response:
    """List the models accepted today matching every filter, one page at a time.

    Async: a cached page is a dictionary lookup, and an uncached one filters a few dozen entries
    with a bounded query, well under a millisecond.
    """
    try:
        filters = CatalogFilters(query, family, algorithm, min_size_b, max_size_b, kind, vision)
        rendered = catalog_page(filters, limit=limit, offset=offset, day=day, prices=prices)
    except TrainingQueryError as err:
        raise ValidationFailedError(
            [error_item(("query", err.argument), str(err), "value_error")]
        ) from None
    return _conditional(rendered, if_none_match)


@router.get(
    "/retired",
    response_model=RetiredModelsPublic,
    responses={
        200: {"description": "Every retirement in effect", "headers": ENTRY_HEADERS},
        **NOT_MODIFIED,
    },
)
async def read_retired_models(
    *,
    _user: CurrentUser,
    if_none_match: Annotated[str | None, Header()] = None,
    day: CatalogDay,
) -> Response:
    """Every model Tinker has retired by today, with the date and the replacement it names."""
    return _conditional(retired_page(day), if_none_match)


@router.get(
    "/{tinker_id:catalog_id}",
    response_model=CatalogEntryPublic,
    responses={
        200: {"description": "The entry", "headers": {**ENTRY_HEADERS, **LIFECYCLE_HEADERS}},
        **NOT_MODIFIED,
        **error_responses(
            404, s404="No such model: unknown (with suggestions), retired, or a wrong :peft: suffix"
        ),
    },
)
async def read_catalog_entry(
    *,
    _user: CurrentUser,
    tinker_id: PrintableStr,
    if_none_match: Annotated[str | None, Header()] = None,
    day: CatalogDay,
    prices: Prices,
) -> Response:
    """One model by id; a ``:peft:`` id answers as its extended-context variant, at its own
    price."""
    rendered = catalog_entry(tinker_id, day, prices)
    if rendered is None:
        raise NotFoundError(describe_unknown_training_model(tinker_id, on=day))
    return _conditional(rendered, if_none_match, retirement_headers(tinker_id, day))
