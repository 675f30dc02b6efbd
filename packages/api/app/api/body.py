"""The job body: a real request body of its operations, documented as ``JobCreate``, but not
validated by FastAPI.

FastAPI would validate the body against ``JobCreate`` before the handler runs and answer with the
schema's errors alone; ``app.training.validation.check_job`` instead reports those together with
the catalog's (an unknown model *and* a bad epoch count, in one answer). So the parameter's type
accepts any decoded JSON while its JSON Schema is ``JobCreate``'s, and ``check_job`` does the
validating. The JSON itself is decoded by pydantic-core (``PydanticJsonRoute``): its parser is
iterative with a nesting limit, so 100,000 ``[`` are a 400, where ``json.loads`` would recurse.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import pydantic_core
from fastapi import Body, Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, PlainValidator, ValidationError

from app.api.mediatype import ContentType, require_utf8
from app.errors import UnsupportedMediaTypeError, ValidationFailedError, pydantic_error_items
from app.schemas import JobCreate

__all__ = ["JobBody", "PydanticJsonRoute", "is_json_media_type", "json_body", "parse_body"]


class _PydanticJsonRequest(Request):
    """A request whose ``json()`` is pydantic-core's; errors arrive as ``JSONDecodeError``,
    which FastAPI turns into its ``json_invalid`` validation error (and the envelope into 400)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = pydantic_core.from_json(body)
            except ValueError as err:
                raise json.JSONDecodeError(str(err), body.decode("utf-8", "replace"), 0) from None
        return self._json


class PydanticJsonRoute(APIRoute):
    """A route whose JSON bodies are decoded by pydantic-core (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decode_with_pydantic(request: Request) -> Response:
            return await handler(_PydanticJsonRequest(request.scope, request.receive))

        return decode_with_pydantic


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or any ``application/*+json``, parameters aside."""
    if content_type is None:
        return False
    kind, _, subtype = ContentType.parse(content_type).media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


_Model = TypeVar("_Model", bound=BaseModel)

#: Any decoded JSON, passed through untouched, whose JSON Schema is ``JobCreate``'s.
_DocumentedAsJobCreate = Annotated[
    Any, PlainValidator(lambda raw: raw, json_schema_input_type=JobCreate)
]


async def _job_body(request: Request, body: Annotated[_DocumentedAsJobCreate, Body()]) -> Any:
    """The decoded body of a request that declares JSON; 415 for any other ``Content-Type``."""
    _require_json(request)
    return body


def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        given = f"not {content_type!r}" if content_type else "and none was given"
        raise UnsupportedMediaTypeError(f"Content-Type must be application/json, {given}")
    require_utf8(ContentType.parse(content_type), "A JSON body")


#: The decoded job body, for ``check_job`` to validate completely.
JobBody = Annotated[Any, Depends(_job_body)]


def json_body(model: type[BaseModel]) -> Any:
    """A dependency giving another operation's decoded JSON body as ``JobBody`` does (415 for
    another media type, pydantic-core's decoder), documented as ``model``; the handler validates
    it with ``parse_body``, so every answer, a bad field's included, is the envelope's."""
    documented = Annotated[Any, PlainValidator(lambda raw: raw, json_schema_input_type=model)]

    async def decoded(request: Request, body: Any) -> Any:
        _require_json(request)
        return body

    # Set as objects, not the strings this module's annotations are: FastAPI could not resolve
    # a local name.
    decoded.__annotations__ = {
        "request": Request,
        "body": Annotated[documented, Body()],
        "return": Any,
    }
    return Depends(decoded)


def parse_body(model: type[_Model], raw: Any) -> _Model:
    """``raw`` validated as ``model``: 422 listing every violation, each under ``body``."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        items = pydantic_error_items(err.errors(include_url=False), prefix=("body",))
        raise ValidationFailedError(items) from None
