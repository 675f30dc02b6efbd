"""``/training/catalog``: list and look up Tinker's base models, with ETags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from starlette.convertors import PathConvertor, register_url_convertor

from app.api.deps import CurrentUser
from app.errors import NotFoundError, ValidationFailedError, error_item
from app.schemas import MAX_OFFSET, CatalogPage
from app.training.catalog import (
    TrainingModel,
    TrainingQueryError,
    describe_unknown_training_model,
)
from app.training.pages import CatalogFilters, Rendered, catalog_entry, catalog_page

__all__ = ["MAX_QUERY_LENGTH", "router"]

router = APIRouter(prefix="/training/catalog", tags=["catalog"])

#: Longer than any id or display name, with room to spare; bounds the work one query can ask for.
MAX_QUERY_LENGTH = 200

SizeBound = Annotated[float | None, Query(allow_inf_nan=False)]


class _IdConvertor(PathConvertor):
    """A catalog id: a path (ids hold a slash) of at least one character. Without that bound,
    "/training/catalog/" would look up the id '' instead of redirecting to the list, as every
    other route does for a trailing slash."""

    regex = ".+"


register_url_convertor("catalog_id", _IdConvertor())


def _conditional(rendered: Rendered, if_none_match: str | None) -> Response:
    headers = {"ETag": rendered.etag}
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if rendered.etag in candidates or "*" in candidates:
            return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


@router.get("", response_model=CatalogPage)
async def read_catalog(
    *,
    _user: CurrentUser,
    query: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH)] = None,
    family: str | None = None,
    algorithm: str | None = None,
    min_size_b: SizeBound = None,
    max_size_b: SizeBound = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """List catalog entries matching every filter, one page at a time.

    Async: a cached page is a dictionary lookup, and an uncached one filters a few dozen entries
    with a bounded query, well under a millisecond.
    """
    try:
        filters = CatalogFilters(query, family, algorithm, min_size_b, max_size_b)
        rendered = catalog_page(filters, limit=limit, offset=offset)
    except TrainingQueryError as err:
        raise ValidationFailedError(
            [error_item(("query", err.argument), str(err), "value_error")]
        ) from None
    return _conditional(rendered, if_none_match)


@router.get("/{tinker_id:catalog_id}", response_model=TrainingModel)
async def read_catalog_entry(
    *,
    _user: CurrentUser,
    tinker_id: str,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One catalog entry by id (``base:peft:N`` selects its extended-context variant)."""
    rendered = catalog_entry(tinker_id)
    if rendered is None:
        raise NotFoundError(describe_unknown_training_model(tinker_id))
    return _conditional(rendered, if_none_match)
