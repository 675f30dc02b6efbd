"""Every route under ``/api/v1``: the training resources (version-checked) and health."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import check_client_version
from app.api.routes import catalog, health, jobs

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(health.router)

training = APIRouter(dependencies=[Depends(check_client_version)])
training.include_router(catalog.router)
training.include_router(jobs.router)
api_router.include_router(training)
