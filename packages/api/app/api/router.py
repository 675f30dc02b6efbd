"""Every route under ``/api/v1``: the training resources (version-checked, behind a token) and
health (open)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Security

from app.api.deps import check_client_version
from app.api.responses import AUTHENTICATED
from app.api.routes import catalog, datasets, health, jobs, models
from app.api.security import API_KEY, BEARER

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(health.router)

training = APIRouter(
    dependencies=[Depends(check_client_version), Security(BEARER), Security(API_KEY)],
    responses=AUTHENTICATED,
)
training.include_router(catalog.router)
training.include_router(jobs.router)
training.include_router(datasets.router)
training.include_router(models.router)
api_router.include_router(training)
