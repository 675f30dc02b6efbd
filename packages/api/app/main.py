"""The app factory: ``create_app(settings)`` builds one FastAPI app with its own database.

uvicorn runs it as ``app.main:create_app`` with ``factory=True``, so each worker builds its own
engine and rate limiter from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from app import __version__
from app.api.query import reject_unknown_query_parameters
from app.api.responses import document_rate_limit_headers
from app.api.router import api_router
from app.api.routes import health
from app.api.routes.datasets import UPLOAD_PATH
from app.core.bodylimit import BodyLimitMiddleware, StreamedBody
from app.core.config import API_PREFIX, Settings
from app.core.db import Database, DatabaseLimits
from app.core.head import HeadAsGetMiddleware
from app.core.ratelimit import RateLimiter, RateLimitHeadersMiddleware
from app.core.requestid import RequestIdMiddleware
from app.datasets.store import DatasetStore, DirectoryStore, open_store, sweep_staging
from app.errors import install_exception_handlers
from app.sampling import Sampler
from app.training.prices import PRICE_LIST_RETRY_SECONDS, PriceBook

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; with no settings, they are read from the environment."""
    settings = settings or Settings()
    database = Database(settings.database_url, DatabaseLimits.from_settings(settings))
    store = open_store(
        settings.dataset_store, settings.database_url, s3_endpoint_url=settings.s3_endpoint_url
    )

    price_book = PriceBook(
        settings.price_list_url,
        timeout=settings.price_list_timeout_seconds,
        ttl=settings.price_list_ttl_seconds,
        retry=min(PRICE_LIST_RETRY_SECONDS, settings.price_list_ttl_seconds),
        user_agent=f"dreadnode-api/{__version__}",
    )

    sampler = Sampler(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_sweep_uploads, store)
        price_book.current()  # the first fetch starts now, not with the first catalog request
        yield
        sampler.close()
        database.dispose()

    app = FastAPIOffline(
        title="Dreadnode training API",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Both pages load their scripts from the fastapi-offline package, not a CDN, so they
        # work with no network; the assets live under the prefix with the rest of the API.
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=f"{API_PREFIX}/redoc",
        static_url=f"{API_PREFIX}/docs/assets",
        # No badge fetched from a public validator; keep the token across reloads.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        dependencies=[Depends(reject_unknown_query_parameters)],
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.dataset_store = store
    app.state.price_book = price_book
    app.state.sampler = sampler
    app.state.rate_limiter = RateLimiter(
        database,
        per_minute=settings.rate_limit_per_minute,
        failed_auth_per_minute=settings.failed_auth_per_minute,
    )
    install_exception_handlers(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        read_timeout=settings.body_read_timeout_seconds,
        streamed={
            ("POST", f"{API_PREFIX}{UPLOAD_PATH}"): StreamedBody(
                max_bytes=settings.dataset_max_bytes,
                idle_timeout=settings.dataset_idle_timeout_seconds,
            )
        },
    )
    app.add_middleware(RequestIdMiddleware)  # added last: outermost (see app.core.requestid)
    app.include_router(health.router)
    app.include_router(api_router, prefix=API_PREFIX)
    _document_middleware_headers(app)
    return app


def _document_middleware_headers(app: FastAPI) -> None:
    """Have the generated schema say what the middlewares add (the quota headers), computed
    once and cached the way FastAPI caches its own schema."""
    generate = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            app.openapi_schema = document_rate_limit_headers(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _sweep_uploads(store: DatasetStore) -> None:
    """Remove the temp files of uploads a killed server left (``app.datasets.store``); a
    directory store that has never held anything has none, and is not created for this."""
    if isinstance(store, DirectoryStore) and not store.root.exists():
        return
    sweep_staging(store.staging_path())


def _operation_id(route: APIRoute) -> str:
    """The handler's name (``read_catalog``, ``create_job``), so that generated clients and the
    schema's links read well; the unprefixed ``/health`` twin is ``read_health_unprefixed``."""
    return route.name if route.path_format.startswith(API_PREFIX) else f"{route.name}_unprefixed"
