"""``/health``: liveness and database reachability, without a token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.api.deps import DatabaseDep
from app.api.responses import error_responses
from app.schemas import HealthPublic

__all__ = ["router"]

router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "",
    response_model=HealthPublic,
    responses={
        200: {"description": "The service and its database answer"},
        503: {"model": HealthPublic, "description": "The database does not answer"},
        **error_responses(422, 500),
    },
)
def read_health(*, database: DatabaseDep) -> JSONResponse:
    """200 when the database answers, 503 (``degraded``) when it does not."""
    if database.is_reachable():
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
    return JSONResponse(
        {"status": "degraded", "database": "unreachable", "version": __version__},
        status_code=503,
    )
