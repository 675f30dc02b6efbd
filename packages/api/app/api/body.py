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
from typing import Annotated, Any

import pydantic_core
from fastapi import Body, Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import PlainValidator

from app.api.mediatype import ContentType, require_utf8
from app.errors import UnsupportedMediaTypeError
from app.schemas import JobCreate

__all__ = ["JobBody", "PydanticJsonRoute", "is_json_media_type"]


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


#: Any decoded JSON, passed through untouched, whose JSON Schema is ``JobCreate``'s.
_DocumentedAsJobCreate = Annotated[
    Any, PlainValidator(lambda raw: raw, json_schema_input_type=JobCreate)
]


async def _job_body(request: Request, body: Annotated[_DocumentedAsJobCreate, Body()]) -> Any:
    """The decoded body of a request that declares JSON; 415 for any other ``Content-Type``."""
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        given = f"not {content_type!r}" if content_type else "and none was given"
        raise UnsupportedMediaTypeError(f"Content-Type must be application/json, {given}")
    require_utf8(ContentType.parse(content_type), "A JSON body")
    return body


#: The decoded job body, for ``check_job`` to validate completely.
JobBody = Annotated[Any, Depends(_job_body)]
