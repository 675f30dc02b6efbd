"""``/health``: liveness and database reachability, without a token.

It answers within ``Settings.health_timeout_seconds`` however the database fails: the probe
runs in a worker thread that the request stops waiting for once the timeout is up (the thread
itself ends within the engine's own bounds), so a hung database gets a quick 503 ``degraded``
rather than a probe that times out.
"""

from __future__ import annotations

import anyio
from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.api.deps import DatabaseDep, SettingsDep
from app.api.responses import error_responses
from app.schemas import HealthPublic

__all__ = ["router"]

router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "",
    response_model=HealthPublic,
    responses={
        200: {"description": "The service and its database answer"},
        503: {
            "model": HealthPublic,
            "description": "The database does not answer within the health timeout",
        },
        **error_responses(422, 500),
    },
)
async def read_health(*, database: DatabaseDep, settings: SettingsDep) -> JSONResponse:
    """200 when the database answers in time, 503 (``degraded``) when it does not."""
    with anyio.move_on_after(settings.health_timeout_seconds):
        if await to_thread.run_sync(database.is_reachable, abandon_on_cancel=True):
            return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
    return JSONResponse(
        {"status": "degraded", "database": "unreachable", "version": __version__},
        status_code=503,
    )
