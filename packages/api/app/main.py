"""The app factory: ``create_app(settings)`` builds one FastAPI app with its own database.

uvicorn runs it as ``app.main:create_app`` with ``factory=True``, so each worker builds its own
engine and rate limiter from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app import __version__
from app.api.router import api_router
from app.api.routes import health
from app.core.config import API_PREFIX, Settings
from app.core.db import Database
from app.core.head import HeadAsGetMiddleware
from app.core.ratelimit import RateLimiter
from app.core.tokencache import TokenCache
from app.errors import install_exception_handlers
from app.schemas import JobCreate

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; with no settings, they are read from the environment."""
    settings = settings or Settings()
    database = Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = FastAPI(
        title="Dreadnode training API",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.token_cache = TokenCache[tuple[str, Any]](settings.token_cache_seconds)
    install_exception_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.include_router(health.router)
    app.include_router(api_router, prefix=API_PREFIX)
    _document_job_body(app)
    return app


def _document_job_body(app: FastAPI) -> None:
    """Add ``JobCreate`` to the OpenAPI components: job handlers read their body themselves."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            job_schema = JobCreate.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(job_schema.pop("$defs", {}))
            components["JobCreate"] = job_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
