"""Request and response bodies, in families per resource (``JobCreate``/``JobPublic``/...).

Field constraints live here; checks that need the catalog or several fields at once live in
``app.training.validation``, the one domain function job creation goes through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from app.training.catalog import TrainingAlgorithm, TrainingModel

__all__ = [
    "CatalogPage",
    "ErrorEntry",
    "HealthPublic",
    "Hyperparameters",
    "JobCreate",
    "JobEventPublic",
    "JobEventsPublic",
    "JobMethod",
    "JobPublic",
    "JobStatus",
    "JobValidation",
    "JobsPublic",
]


class JobMethod(StrEnum):
    """Supervised fine-tuning or reinforcement learning."""

    SFT = "sft"
    RL = "rl"


class JobStatus(StrEnum):
    """A job's lifecycle; the last three are terminal."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class Hyperparameters(BaseModel):
    """Every field optional; bounds from docs/api.md (LoRA rank: Tinker's maximum is 32)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    learning_rate: Annotated[float, Field(gt=0, le=1)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=4096)] | None = None
    epochs: Annotated[int, Field(ge=1, le=100)] | None = None
    steps: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_sequence_length: Annotated[int, Field(ge=1)] | None = None
    lora_rank: Annotated[int, Field(ge=1, le=32)] | None = None


Tag = Annotated[str, Field(min_length=1, max_length=64)]


class JobCreate(BaseModel):
    """The body of ``POST /training/jobs`` and ``/training/jobs/validate``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    base_model: str = Field(min_length=1, max_length=300)
    method: JobMethod
    algorithm: TrainingAlgorithm | None = None
    dataset: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)


class JobPublic(BaseModel):
    """A job as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None
    base_model: str
    method: JobMethod
    algorithm: TrainingAlgorithm
    dataset: str
    tags: list[str]
    hyperparameters: dict[str, Any]
    status: JobStatus
    created_at: datetime
    updated_at: datetime

    @field_serializer("created_at", "updated_at")
    def _utc(self, value: datetime) -> str:
        return _isoformat(value)


class JobsPublic(BaseModel):
    """One page of the caller's jobs, newest first; ``total`` counts every match."""

    jobs: list[JobPublic]
    total: int
    limit: int
    offset: int


class JobEventPublic(BaseModel):
    """Something that happened to a job."""

    model_config = ConfigDict(from_attributes=True)

    type: str
    status: JobStatus
    message: str | None
    created_at: datetime

    @field_serializer("created_at")
    def _utc(self, value: datetime) -> str:
        return _isoformat(value)


class JobEventsPublic(BaseModel):
    """A job's events, oldest first."""

    events: list[JobEventPublic]


class ErrorEntry(BaseModel):
    """One violation: where, what, and a stable machine-readable type."""

    loc: list[str | int]
    msg: str
    type: str


class JobValidation(BaseModel):
    """The answer of ``POST /training/jobs/validate``."""

    valid: bool
    errors: list[ErrorEntry]


class CatalogPage(BaseModel):
    """One page of catalog entries; ``total`` counts every match."""

    models: list[TrainingModel]
    total: int
    limit: int
    offset: int


class HealthPublic(BaseModel):
    """Liveness and database reachability."""

    status: str
    database: str
    version: str


def _isoformat(value: datetime) -> str:
    """UTC with a ``Z``; SQLite hands back naive datetimes, which the service wrote as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
