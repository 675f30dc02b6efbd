"""Request and response bodies, in families per resource (``JobCreate``/``JobPublic``/...).

Field constraints live here; checks that need the catalog or several fields at once live in
``app.training.validation``, the one domain function job creation goes through.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.training.catalog import (
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelRetirement,
    TrainingModelStatus,
)
from app.training.datasets import DatasetFormat
from app.training.graders import Grader
from app.training.money import usd

__all__ = [
    "MAX_OFFSET",
    "NOT_ESTIMATED",
    "RL_STEP_FIGURES",
    "CancelReason",
    "CatalogEntryPublic",
    "CheckpointPublic",
    "CostEstimatePublic",
    "DatasetName",
    "DatasetPublic",
    "DatasetsPublic",
    "ErrorEntry",
    "ErrorResponse",
    "HealthPublic",
    "Hyperparameters",
    "JobCreate",
    "JobCreated",
    "JobError",
    "JobEventPublic",
    "JobEventsPublic",
    "JobMethod",
    "JobMetricsPublic",
    "JobName",
    "JobProgress",
    "JobPublic",
    "JobStatus",
    "JobValidation",
    "JobsPublic",
    "LivePricePublic",
    "MetricPoint",
    "ModelDescription",
    "PrintableStr",
    "RetiredModelsPublic",
    "Timestamp",
    "TokenCountPublic",
    "TokenCountStatus",
    "TrainingCatalogResponse",
    "isoformat_utc",
]

#: The largest ``offset`` a list accepts: every backend's 32-bit signed integer, so a huge value
#: is a 422 rather than an overflow in the database driver.
MAX_OFFSET = 2**31 - 1


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


class CancelReason(StrEnum):
    """Why a job ended ``cancelled``: its owner asked, or it would have spent more than its
    ``max_cost_usd``."""

    USER = "user"
    BUDGET = "budget"


class TokenCountStatus(StrEnum):
    """Where a dataset's exact token counts stand: ``pending`` until a worker has counted them,
    then ``ready`` or ``failed``; ``unavailable`` for a format that is not counted."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


class Hyperparameters(BaseModel):
    """Every field optional; bounds from docs/api.md. The LoRA rank's further rules (a power of
    two, within the model's bound) need the model, and which knobs go with which method and
    algorithm needs the rest of the job, so ``app.training.validation`` checks them."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    learning_rate: Annotated[float, Field(gt=0, le=1)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        default=None, description="Rows per step; for RL, prompts per step"
    )
    epochs: Annotated[int, Field(ge=1, le=100)] | None = None
    steps: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_sequence_length: Annotated[int, Field(ge=1)] | None = None
    lora_rank: Annotated[int, Field(ge=1)] | None = None
    group_size: Annotated[int, Field(ge=2, le=64)] | None = Field(
        default=None,
        description="RL: completions sampled per prompt; each is rewarded against its group's "
        "mean, so a group needs two at least",
    )
    max_tokens: Annotated[int, Field(ge=1, le=32_768)] | None = Field(
        default=None, description="RL: the most tokens one sampled completion may have"
    )
    temperature: Annotated[float, Field(gt=0, le=2)] | None = Field(
        default=None, description="RL: the sampling temperature"
    )
    clip_low_threshold: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        default=None, description="RL with `ppo`: the lowest probability ratio not clipped"
    )
    clip_high_threshold: Annotated[float, Field(gt=1, le=10)] | None = Field(
        default=None, description="RL with `ppo`: the highest probability ratio not clipped"
    )


#: What no stored string may hold, whichever database stores it, each kind with the error type
#: that names it: C0 controls (NUL among them, which PostgreSQL's text cannot hold at all), DEL
#: and C1 controls (ESC starts a terminal escape sequence, so a name could rewrite the owner's
#: screen); the line and paragraph separators (a line break by another name); and the
#: bidirectional formatting characters, which reorder how the text around them is shown (U+202E
#: makes ``exe.txt`` read ``txt.exe``). Written in the regex syntax Python and JSON Schema share,
#: so the check and the schema's ``pattern`` are one rule.
_REFUSED_KINDS = (
    (r"\u0000-\u001f\u007f-\u009f", "control_character", "control characters"),
    (r"\u2028\u2029", "line_separator_character", "line or paragraph separators"),
    (
        r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069",
        "bidi_control_character",
        "bidirectional formatting characters",
    ),
)
_REFUSED_RANGES = "".join(ranges for ranges, _, _ in _REFUSED_KINDS)
_REFUSED = re.compile(f"[{_REFUSED_RANGES}]")
_KINDS = [(re.compile(f"[{ranges}]"), kind, what) for ranges, kind, what in _REFUSED_KINDS]
#: The same rule as a JSON Schema ``pattern``, so clients and schemathesis know it.
PRINTABLE_PATTERN = f"^[^{_REFUSED_RANGES}]*$"


def _printable(value: str) -> str:
    """Refuse the characters above, naming the first by its code point (never echoing it)."""
    found = _REFUSED.search(value)
    if found is None:
        return value
    kind, what = next((kind, what) for one, kind, what in _KINDS if one.match(found.group()))
    raise PydanticCustomError(
        kind,
        "must not contain {what}; found U+{code} at character {position}",
        {"what": what, "code": f"{ord(found.group()):04X}", "position": found.start() + 1},
    )


_CHECK = AfterValidator(_printable)
_DOCUMENT = Field(json_schema_extra={"pattern": PRINTABLE_PATTERN})

#: A string the service stores or looks up and shows back: names, tags, datasets, model and job
#: ids, in bodies and paths alike. The one rule for every backend, checked before any query, so
#: SQLite and PostgreSQL answer the same 422 (PostgreSQL would otherwise fail on a NUL). The
#: bounded forms below put their lengths first, so a length error is still pydantic's own
#: (``string_too_long``) and the check reads a string already known to be short.
PrintableStr = Annotated[str, _CHECK, _DOCUMENT]
ModelId = Annotated[str, Field(min_length=1, max_length=300), _CHECK, _DOCUMENT]
DatasetRef = Annotated[str, Field(min_length=1, max_length=1024), _CHECK, _DOCUMENT]
JobName = Annotated[str, Field(min_length=1, max_length=200), _CHECK, _DOCUMENT]
DatasetName = Annotated[str, Field(min_length=1, max_length=200), _CHECK, _DOCUMENT]
Tag = Annotated[str, Field(min_length=1, max_length=64), _CHECK, _DOCUMENT]
ModelDescription = Annotated[str, Field(max_length=2000), _CHECK, _DOCUMENT]

#: A stored time, sent as UTC with a ``Z`` by each model's serializer (``isoformat_utc``); the
#: serializer returns a string, so the schema is told it is a date-time.
Timestamp = Annotated[datetime, Field(json_schema_extra={"format": "date-time"})]


def _unique_tags(tags: list[str]) -> list[str]:
    """Tags are a set to the user; a repeated one is a mistake worth saying, not storing twice."""
    seen: set[str] = set()
    repeated: list[str] = []
    for tag in tags:
        if tag in seen and tag not in repeated:
            repeated.append(tag)
        seen.add(tag)
    if repeated:
        raise PydanticCustomError(
            "duplicate_tag",
            "each tag may appear once; repeated: {repeated}",
            {"repeated": ", ".join(repr(tag) for tag in repeated)},
        )
    return tags


#: The job body's enums, validated leniently: the body is validated as decoded JSON (parsed once,
#: in ``app.training.validation``), where strict mode would want enum instances, not their values.
#: Every other field stays strict, exactly as when validating JSON ("32" is not an integer).
Method = Annotated[JobMethod, Strict(False)]
Algorithm = Annotated[TrainingAlgorithm, Strict(False)]


#: A job the service accepts: the docs page's "Try it out" starts from it, and schemathesis'
#: examples phase sends it.
JOB_EXAMPLE: dict[str, Any] = {
    "base_model": "Qwen/Qwen3-8B",
    "method": "sft",
    "dataset": "s3://bucket/train.jsonl",
    "name": "first run",
    "tags": ["demo"],
    "hyperparameters": {"learning_rate": 0.0001, "lora_rank": 32, "epochs": 1},
}


class JobCreate(BaseModel):
    """The body of ``POST /training/jobs`` and ``/training/jobs/validate``."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [JOB_EXAMPLE]},
    )

    base_model: ModelId
    method: Method
    algorithm: Algorithm | None = None
    dataset: DatasetRef
    name: JobName | None = None
    tags: Annotated[list[Tag], AfterValidator(_unique_tags)] = Field(
        default_factory=list, max_length=20
    )
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    grader: Grader | None = Field(
        default=None,
        description="RL (required there, refused on SFT): how each sampled completion is "
        "scored against its prompt's row",
    )
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None,
        description="The most the job may spend, USD: refused at creation (`over_budget`) when "
        "the estimate is over it; stopped (`cancelled`, `cancel_reason` `budget`) before a step "
        "would take its spend over it",
    )


class CostEstimatePublic(BaseModel):
    """The basis of ``estimated_cost_usd``: the exact id's train rate, from which copy of
    Tinker's price list; or, when the estimate is null, why."""

    train_usd_per_million: float | None = Field(
        default=None, description="Tinker's train rate for the exact id, USD per million tokens"
    )
    price_as_of: Timestamp | None = Field(
        default=None,
        description="When the server fetched the price list (UTC)",
        json_schema_extra={"format": "date-time"},
    )
    price_source: str | None = Field(default=None, description="Where the price list came from")
    reason: str | None = Field(
        default=None,
        description='Why `estimated_cost_usd` is null, in words ("token counts pending: ...", '
        "\"no price known for 'X' in Tinker's price list\", ...); null when it is known",
    )

    @field_serializer("price_as_of")
    def _utc(self, value: datetime | None) -> str | None:
        return None if value is None else isoformat_utc(value)


#: What a job created before costs were estimated (migration v0009) says of its cost.
NOT_ESTIMATED = CostEstimatePublic(reason="the job was created before costs were estimated")


#: A job's exact tokens and what they cost, as estimated before it runs: the same fields, with
#: the same meaning, on a validation and on a job.
TokensPerEpoch = Annotated[
    int | None,
    Field(
        description="The exact tokens one pass over the dataset sends to Tinker (what Tinker "
        "bills at its train rate); null until the dataset's tokens are counted, for a URI, "
        "and for RL"
    ),
]
TotalTokens = Annotated[
    int | None,
    Field(
        description="The tokens the whole run sends: one pass per epoch, or the share of them "
        "that `steps` covers"
    ),
]
EstimatedCost = Annotated[
    float | None,
    Field(
        description="`total_tokens` at the exact id's train rate, USD; null when either is "
        "unknown (`cost_estimate.reason` says which)"
    ),
]


class JobProgress(BaseModel):
    """How far a run has come."""

    step: int = Field(description="Optimizer steps done")
    total_steps: int | None = Field(
        description="Steps the run takes in all; null until the worker has read the dataset"
    )
    epochs_completed: int = Field(description="Whole passes over the dataset done")


class JobError(BaseModel):
    """Why a job failed: a stable machine-readable type and a message for people."""

    type: str = Field(
        description="Stable: `invalid_dataset`, `row_too_long`, `dataset_unavailable`, "
        "`tinker_error`, `tinker_unavailable`, `worker_lost`, `internal_error`, ..."
    )
    message: str


class CheckpointPublic(BaseModel):
    """A checkpoint the job saved on Tinker, in Tinker's own shape."""

    model_config = ConfigDict(from_attributes=True)

    checkpoint_id: str
    checkpoint_type: Annotated[
        str,
        Field(
            description="`training` (weights and optimizer state: a run resumes from "
            "it) or `sampler` (weights to sample from)"
        ),
    ]
    step: int = Field(description="The optimizer steps done when it was saved")
    time: Timestamp
    tinker_path: str = Field(description="`tinker://...`, as Tinker names it")
    size_bytes: int | None = Field(description="Its size, where Tinker reports one")

    @field_serializer("time")
    def _utc(self, value: datetime) -> str:
        return isoformat_utc(value)


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
    #: Every effective value: the ones given, and the defaults filled in for the rest.
    hyperparameters: dict[str, Any]
    #: The names in ``hyperparameters`` that the service filled in, sorted.
    defaulted_hyperparameters: list[str]
    grader: dict[str, Any] | None = Field(
        default=None, description="An RL job's grader, as declared; null for SFT"
    )
    #: Parameters of the LoRA adapter at the job's rank; None where the model's count is unknown.
    adapter_parameters: int | None
    dataset_rows: int | None = Field(
        description="Rows of the uploaded dataset the job trains on; null for a URI the "
        "platform does not hold"
    )
    training_tokens_bound: int | None = Field(
        description="At most this many tokens are trained on: the dataset's bytes times the "
        "epochs (a token takes at least one byte); null for a URI, and for an RL job (it "
        "trains on the completions it samples)"
    )
    tokens_per_epoch: TokensPerEpoch = None
    total_tokens: TotalTokens = None
    estimated_cost_usd: EstimatedCost = None
    cost_estimate: CostEstimatePublic = Field(default_factory=CostEstimatePublic)
    status: JobStatus
    status_message: str | None = Field(
        default=None,
        description='What the job is waiting for or doing, in words ("waiting for a worker", '
        '"stopping: cancel requested"); null once it has finished',
    )
    queue_position: int | None = Field(
        default=None,
        description="While queued: how many queued jobs will start before this one (0: next)",
    )
    cancel_requested: bool = Field(
        default=False, description="A cancel was asked while it ran; it stops at its next step"
    )
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None = Field(
        default=None,
        description="When a worker first started it",
        json_schema_extra={"format": "date-time"},
    )
    finished_at: Timestamp | None = Field(
        default=None, description="When it ended", json_schema_extra={"format": "date-time"}
    )
    progress: JobProgress = Field(
        default_factory=lambda: JobProgress(step=0, total_steps=None, epochs_completed=0)
    )
    trained_tokens: int = Field(default=0, description="Tokens trained on so far")
    max_cost_usd: float | None = Field(default=None, description="The job's cap, as given")
    processed_tokens: int = Field(
        default=0,
        description="Tokens sent to Tinker so far, what it bills (steps trained again after a "
        "crash count again: they were sent again)",
    )
    spent_usd: float | None = Field(
        default=None,
        description="`processed_tokens` at the train rate known at creation "
        "(`cost_estimate`); null when none was known. Tinker's own bill may differ slightly",
    )
    cancel_reason: CancelReason | None = Field(
        default=None, description="Why a cancelled job was cancelled: `user` or `budget`"
    )
    loss: float | None = Field(default=None, description="The latest step's mean loss per token")
    checkpoints: list[CheckpointPublic] = Field(default_factory=list)
    sampler_path: str | None = Field(
        default=None,
        description="The trained adapter's sampler weights on Tinker, once the job completed "
        "(or was stopped by its budget: the steps it trained)",
    )
    model_id: str | None = Field(
        default=None,
        description="The model the job made once it completed (`/training/models/{id}`): "
        "yours to sample and train further; it stays named here after the model is deleted",
    )
    error: JobError | None = Field(default=None, description="Why it failed, if it did")

    @field_validator("cost_estimate", mode="before")
    @classmethod
    def _estimated(cls, value: Any) -> Any:
        return NOT_ESTIMATED if value is None else value

    @model_validator(mode="after")
    def _spent(self) -> JobPublic:
        rate = self.cost_estimate.train_usd_per_million
        if self.spent_usd is None and rate is not None:
            self.spent_usd = usd(self.processed_tokens, rate)
        return self

    @field_serializer("created_at", "updated_at")
    def _utc(self, value: datetime) -> str:
        return isoformat_utc(value)

    @field_serializer("started_at", "finished_at")
    def _utc_or_none(self, value: datetime | None) -> str | None:
        return None if value is None else isoformat_utc(value)


class JobsPublic(BaseModel):
    """One page of the caller's jobs, newest first; ``total`` counts every match."""

    jobs: list[JobPublic]
    total: int
    limit: int
    offset: int


class TokenCountPublic(BaseModel):
    """What a job on these models would send to Tinker for one pass over the dataset, counted
    with their renderer (models sharing a renderer share the count)."""

    renderer: str = Field(description="The renderer's name, as catalog entries give it")
    models: list[str] = Field(description="The catalog ids it renders for (`:peft:` ids too)")
    tokens_processed: int | None = Field(
        description="Every token of every rendered sequence; null when a row cannot be rendered"
    )
    tokens_trained: int | None = Field(
        description="The tokens with a loss weight above 0 (the ones the model learns to write)"
    )
    longest_row_tokens: int | None = Field(description="The longest rendered sequence, in tokens")
    longest_row_line: int | None = Field(description="The line (1-based) it comes from")
    error: str | None = Field(
        description="Why a row cannot be rendered with it (`line N: ...`); null when every row can"
    )


class DatasetPublic(BaseModel):
    """An uploaded dataset: every row of it passed the checks of its format."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="`ds-` and 24 hex digits; a job's `dataset` names it")
    name: str | None
    format: DatasetFormat = Field(description="The one format of every row")
    rows: int = Field(description="Rows (blank lines are not rows)")
    bytes: int = Field(description="The file's size in bytes")
    sha256: str = Field(description="The sha256 of the file's bytes, in hex")
    longest_row_bytes: int = Field(
        description="The longest row's length in bytes, its line ending not counted: an upper "
        "bound on its tokens"
    )
    longest_row_line: int = Field(description="The line number (1-based) of that row")
    created_at: Timestamp
    token_counts_status: TokenCountStatus = Field(
        description="`pending` until a worker has counted the exact tokens, then `ready` (or "
        "`failed`, see `token_counts_error`); `unavailable` for a format that is not counted"
    )
    token_counts: list[TokenCountPublic] | None = Field(
        description="Per renderer, once `ready`: the exact tokens a job would send"
    )
    token_counts_error: str | None = Field(
        description="Why the counts failed or are unavailable; null otherwise"
    )

    @field_serializer("created_at")
    def _utc(self, value: datetime) -> str:
        return isoformat_utc(value)


class DatasetsPublic(BaseModel):
    """One page of the caller's datasets, newest first; ``total`` counts them all."""

    datasets: list[DatasetPublic]
    total: int
    limit: int
    offset: int


class JobEventPublic(BaseModel):
    """Something that happened to a job."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(
        description="Increasing; pass the last one seen as `after` to read only newer events"
    )
    type: str = Field(
        description="`job_pending`, `job_start`, `job_restart`, `training_step`, "
        "`checkpoint_save`, `epoch_complete`, `cancel_requested`, `job_complete`, `job_error`, "
        "`job_cancelled`"
    )
    status: JobStatus
    message: str | None
    created_at: Timestamp
    data: dict[str, Any] | None = Field(
        default=None,
        description="The event's figures: a `training_step`'s `step`, `loss`, `tokens`, "
        "`processed_tokens`, `learning_rate` (and for RL `reward_mean`, `reward_std`, "
        "`no_signal_fraction`, `sampled_tokens`, `grading_errors`); a `checkpoint_save`'s "
        "`step`, `checkpoint_type`, `tinker_path`",
    )

    @field_serializer("created_at")
    def _utc(self, value: datetime) -> str:
        return isoformat_utc(value)


class JobEventsPublic(BaseModel):
    """A job's events, oldest first (only those after `after` when it was given)."""

    events: list[JobEventPublic]


class MetricPoint(BaseModel):
    """One logged training step; the reward figures are an RL step's (null for SFT)."""

    step: int
    loss: float
    tokens: int
    learning_rate: float
    time: Timestamp
    reward_mean: float | None = Field(
        default=None, description="RL: the mean reward of the step's completions"
    )
    reward_std: float | None = Field(
        default=None, description="RL: their standard deviation (population)"
    )
    no_signal_fraction: float | None = Field(
        default=None,
        description="RL: the share of prompts whose completions all scored alike, so that "
        "they taught nothing",
    )
    sampled_tokens: int | None = Field(
        default=None, description="RL: the tokens sampled for the step's completions"
    )
    grading_errors: int | None = Field(
        default=None, description="RL: completions the grader could not score (scored 0)"
    )

    @field_serializer("time")
    def _utc(self, value: datetime) -> str:
        return isoformat_utc(value)


#: The figures an RL step adds to its ``training_step`` event and metric point.
RL_STEP_FIGURES = (
    "reward_mean",
    "reward_std",
    "no_signal_fraction",
    "sampled_tokens",
    "grading_errors",
)


class JobMetricsPublic(BaseModel):
    """A job's loss curve: one point per logged step, in step order."""

    points: list[MetricPoint]


class ErrorEntry(BaseModel):
    """One violation: where, what, and a stable machine-readable type."""

    loc: list[str | int] = Field(description="Where the validation error occurred")
    msg: str = Field(description="Human-readable validation message")
    type: str = Field(description="Machine-readable validation error type")


class ErrorResponse(BaseModel):
    """Canonical API error envelope returned by the API."""

    code: int = Field(description="HTTP status code")
    detail: str = Field(description="Human-readable error message")
    type: str = Field(description="Stable machine-readable error type")
    errors: list[ErrorEntry] = Field(
        description="Every violation, for a validation error; empty for other errors"
    )


class JobCreated(JobPublic):
    """The answer of a job creation (and of its idempotent replay): the job, and what the user
    should know before it runs (``model_retiring``)."""

    warnings: list[ErrorEntry]


class JobValidation(BaseModel):
    """The answer of ``POST /training/jobs/validate``: every violation, every warning, and, for a
    valid job, the hyperparameters it would train with."""

    valid: bool
    errors: list[ErrorEntry]
    warnings: list[ErrorEntry]
    hyperparameters: dict[str, Any] | None
    defaulted_hyperparameters: list[str]
    adapter_parameters: int | None
    tokens_per_epoch: TokensPerEpoch = None
    total_tokens: TotalTokens = None
    estimated_cost_usd: EstimatedCost = None
    cost_estimate: CostEstimatePublic = Field(default_factory=CostEstimatePublic)


class LivePricePublic(BaseModel):
    """An exact id's rates in Tinker's published price list, USD per million tokens, with when
    and where the server fetched the list."""

    prefill: float = Field(ge=0, description="Prompt tokens processed when sampling")
    cached_prefill: float | None = Field(
        ge=0, description="Prompt tokens served from the prefix cache, where the list says"
    )
    sample: float = Field(ge=0, description="Tokens sampled")
    train: float = Field(ge=0, description="Tokens of the datums sent to forward_backward")
    note: str | None = Field(description="The list's own note on this id, if any")
    price_as_of: datetime = Field(description="When the server fetched the list (UTC)")
    source: str = Field(description="The URL the list was fetched from")


class CatalogEntryPublic(TrainingModel):
    """One base model available for hosted training jobs."""

    lifecycle: TrainingModelStatus = Field(
        description="Where the model stands on the server's day: available, or retiring on the "
        "date in `retirement`"
    )
    price: LivePricePublic | None = Field(
        description="This exact id's live price, from Tinker's published list; null until the "
        "server has fetched the list, when the list does not name the id, or when no list is "
        "configured. `pricing` stays the catalog's own confirmed figures."
    )


class TrainingCatalogResponse(BaseModel):
    """Paginated list response for GET /training/catalog."""

    models: list[CatalogEntryPublic] = Field(description="This page of matching entries")
    total: int = Field(description="How many entries match the filters, on every page")
    limit: int = Field(description="The largest page asked for")
    offset: int = Field(description="How many matching entries come before this page")


class RetiredModelsPublic(BaseModel):
    """Every retirement in effect today, in the order Tinker announced them."""

    retired: list[TrainingModelRetirement]
    total: int


class HealthPublic(BaseModel):
    """Liveness and database reachability."""

    status: str
    database: str
    version: str


def isoformat_utc(value: datetime) -> str:
    """UTC with a ``Z``; SQLite hands back naive datetimes, which the service wrote as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
