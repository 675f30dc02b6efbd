"""The bodies of ``/training/models``: one list of what a user can train on and sample (the
catalog's base models and the user's own), one model, its update, and a sample request and answer.

A model is in the shape model platforms list (``id``, ``name``, ``description``, ``read_only``,
``parent_model``, ``revision``, ``last_modified``, ``default_model`` and the defaults a user
would start from), with what this service knows besides: the job that made it, the catalog model
at the root of its chain, its renderer, where Tinker keeps it, its LoRA rank, its data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from app.schemas import JobName, ModelDescription, Timestamp, isoformat_utc

__all__ = [
    "MAX_SAMPLE_COMPLETIONS",
    "MAX_SAMPLE_TOKENS",
    "Completion",
    "ModelKind",
    "ModelPublic",
    "ModelSampling",
    "ModelTraining",
    "ModelUpdate",
    "ModelsPublic",
    "SampleMessage",
    "SampleRequest",
    "SampleResponse",
]


class ModelKind(StrEnum):
    """Which models a list shows: the caller's own, or the catalog's base models."""

    OWNED = "owned"
    BASE = "base"


class ModelSampling(BaseModel):
    """What a sample request that sets nothing else samples with."""

    temperature: float
    top_p: float
    max_tokens: int


class ModelTraining(BaseModel):
    """What a job on this model trains with unless it says otherwise."""

    learning_rate: float = Field(
        description="The recommended learning rate of the root model (Tinker's own where none "
        "is calibrated)"
    )
    lora_rank: int = Field(
        description="The adapter's rank: a job on one of your models keeps its rank"
    )


class ModelPublic(BaseModel):
    """A model a user can train on and sample: a catalog base model (``read_only``, revision
    0) or one of the caller's own."""

    id: str = Field(description="What `base_model` and `/training/models/{id}` take")
    name: str
    description: str | None
    read_only: bool = Field(description="A catalog base model: it cannot be changed or deleted")
    owned: bool = Field(description="One of the caller's models, made by one of their jobs")
    parent_model: str | None = Field(
        description="What it was trained from: a catalog id or one of your models' ids (which "
        "stays named after that model is deleted); null for a base model"
    )
    base_model: str = Field(description="The catalog model at the root of its chain")
    revision: int = Field(description="0 for a base model, one more for every training on top")
    created_at: Timestamp | None = Field(
        description="When its job made it; null for a base model",
        json_schema_extra={"format": "date-time"},
    )
    last_modified: Timestamp | None = Field(
        description="When it was made or last updated; null for a base model",
        json_schema_extra={"format": "date-time"},
    )
    default_model: bool = Field(description="The caller's default model (at most one)")
    renderer: str | None = Field(
        description="How chats become its tokens (the root model's); null where none is known"
    )
    context_length: int = Field(description="Tokens a prompt and its completion may share")
    sampling: ModelSampling
    training: ModelTraining
    job_id: str | None = Field(description="The job that made it; null for a base model")
    method: str | None = Field(description="How that job trained it: `sft` or `rl`")
    sampler_path: str | None = Field(description="Its weights to sample from, on Tinker")
    training_checkpoint: str | None = Field(
        description="Its weights to train on from, on Tinker (a job on this model starts here)"
    )
    lora_rank: int | None = Field(description="The adapter's rank; null for a base model")
    dataset: str | None = Field(description="What its job trained on")
    trained_tokens: int | None = Field(description="Tokens its job trained on")

    @field_serializer("created_at", "last_modified")
    def _utc_or_none(self, value: datetime | None) -> str | None:
        return None if value is None else isoformat_utc(value)


class ModelsPublic(BaseModel):
    """One page of models: the caller's own first, newest first, then the catalog's base
    models in catalog order; ``total`` counts every match."""

    models: list[ModelPublic]
    total: int
    limit: int
    offset: int


Temperature = Annotated[float, Field(gt=0, le=2)]
TopP = Annotated[float, Field(gt=0, le=1)]


class ModelUpdate(BaseModel):
    """The body of ``PATCH /training/models/{id}``: only the fields given change. A null
    ``description`` clears it; a null ``temperature`` or ``top_p`` restores the service's
    default; ``default_model`` true makes this the caller's default (and no other)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: JobName | None = Field(default=None, description="Unique among your models")
    description: ModelDescription | None = None
    default_model: bool | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None

    @model_validator(mode="after")
    def _something(self) -> ModelUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of: " + ", ".join(type(self).model_fields))
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null: every model has one")
        if "default_model" in self.model_fields_set and self.default_model is None:
            raise ValueError("default_model cannot be null: give true or false")
        return self


#: The longest completion one sample asks for, and the most completions: one request stays
#: within a minute of sampling on Tinker and a few hundred kilobytes of answer.
MAX_SAMPLE_TOKENS = 4096
MAX_SAMPLE_COMPLETIONS = 8
#: The longest raw prompt or message, in characters (the body limit bounds their sum too).
MAX_PROMPT_CHARS = 100_000

PromptText = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]


class SampleMessage(BaseModel):
    """One turn of a chat to continue."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["system", "user", "assistant"]
    content: Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]


StopText = Annotated[str, Field(min_length=1, max_length=64)]


class SampleRequest(BaseModel):
    """The body of ``POST /training/models/{id}/sample``: ``messages`` (rendered with the
    model's renderer, the assistant's turn to come) or a raw ``prompt`` (its tokens continued
    as they are), and how to sample; what is not given comes from the model's defaults."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [{"messages": [{"role": "user", "content": "What is 2 plus 3?"}]}]
        },
    )

    messages: Annotated[list[SampleMessage], Field(min_length=1, max_length=100)] | None = None
    prompt: PromptText | None = None
    max_tokens: Annotated[int, Field(ge=1, le=MAX_SAMPLE_TOKENS)] | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    n: Annotated[int, Field(ge=1, le=MAX_SAMPLE_COMPLETIONS)] = 1
    stop: Annotated[list[StopText], Field(max_length=4)] = Field(
        default_factory=list,
        description="Text that ends a completion (cut before it), besides the model's own end "
        "of turn",
    )
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        default=None, description="The same seed and request give the same completions"
    )

    @model_validator(mode="after")
    def _one_prompt(self) -> SampleRequest:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give exactly one of messages or prompt")
        return self


class Completion(BaseModel):
    """One sampled completion."""

    text: str = Field(description="The completion, decoded with the model's renderer")
    tokens: int = Field(description="Tokens sampled")
    finish_reason: Literal["stop", "length"] = Field(
        description="`stop`: it ended (end of turn, or a `stop` text); `length`: it reached "
        "`max_tokens`"
    )


class SampleResponse(BaseModel):
    """What a sample answered, and what it was sampled with."""

    model: str
    completions: list[Completion]
    prompt_tokens: int = Field(description="Tokens of the rendered prompt")
    completion_tokens: int = Field(description="Tokens sampled, all completions together")
    sampling: ModelSampling = Field(description="The settings used, defaults filled in")
    seed: int | None
