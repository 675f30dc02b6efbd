"""Unknown query parameters are typos: ``?famly=qwen`` is a 422 naming the nearest parameter.

Starlette ignores parameters a route does not declare, so a misspelt filter silently returned
every model. One app-wide dependency compares the request's parameter names with those of the
route that matched (read from FastAPI's own description of it, so nothing is listed twice).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from rapidfuzz import fuzz, process

from app.errors import ValidationFailedError, error_item

__all__ = ["reject_unknown_query_parameters"]

#: How alike (0-100) a parameter must be to a declared one to be suggested as meant.
SUGGESTION_CUTOFF = 60


def _query_names(dependant: Dependant) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from _query_names(dependency)


def _declared(route: APIRoute) -> tuple[str, ...]:
    """The query parameters ``route`` takes, its dependencies' included, in declaration order.

    Walked per request that has parameters: a route's dependency tree is a dozen nodes.
    """
    return tuple(dict.fromkeys(_query_names(route.dependant)))


def _message(name: str, declared: tuple[str, ...]) -> str:
    if not declared:
        return f"unknown query parameter {name!r}; this operation takes none"
    match = process.extractOne(
        name.lower(), declared, scorer=fuzz.ratio, score_cutoff=SUGGESTION_CUTOFF
    )
    if match is not None:
        return f"unknown query parameter {name!r}; did you mean {match[0]!r}?"
    return f"unknown query parameter {name!r}; this operation takes: {', '.join(declared)}"


async def reject_unknown_query_parameters(request: Request) -> None:
    """422 listing every query parameter the matched route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    declared = _declared(route)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in declared]
    if unknown:
        raise ValidationFailedError(
            [
                error_item(("query", name), _message(name, declared), "unknown_query_parameter")
                for name in unknown
            ]
        )
