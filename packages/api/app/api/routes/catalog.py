"""``/training/catalog``: list and look up Tinker's base models, with ETags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import CurrentUser
from app.errors import NotFoundError, ValidationFailedError, error_item
from app.schemas import CatalogPage
from app.training.catalog import TrainingModel
from app.training.pages import Rendered, catalog_entry, catalog_page
from app.training.validation import unknown_model_message

__all__ = ["router"]

router = APIRouter(prefix="/training/catalog", tags=["catalog"])

_FILTERS = ("min_size_b", "max_size_b", "query", "family", "algorithm")


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
    query: str | None = None,
    family: str | None = None,
    algorithm: str | None = None,
    min_size_b: float | None = None,
    max_size_b: float | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """List catalog entries matching every filter, one page at a time."""
    try:
        rendered = catalog_page(
            query=query,
            family=family,
            algorithm=algorithm,
            min_size_b=min_size_b,
            max_size_b=max_size_b,
            limit=limit,
            offset=offset,
        )
    except ValueError as err:
        message = str(err)
        field = next((name for name in _FILTERS if name in message), "query")
        raise ValidationFailedError(
            [error_item(("query", field), message, "value_error")]
        ) from None
    return _conditional(rendered, if_none_match)


@router.get("/{tinker_id:path}", response_model=TrainingModel)
async def read_catalog_entry(
    *,
    _user: CurrentUser,
    tinker_id: str,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One catalog entry by id (``base:peft:N`` selects its extended-context variant)."""
    rendered = catalog_entry(tinker_id)
    if rendered is None:
        raise NotFoundError(unknown_model_message(tinker_id))
    return _conditional(rendered, if_none_match)
