"""What the API answers, as pydantic models, deliberately more lenient than the SDK's catalog.

The embedded catalog (``dreadnode.training.TrainingModel``) is strict: a family outside its enum
is a bug in the data. An answer from a *newer* server is different: it may list a family, type or
algorithm this SDK has never heard of, and that must not make the whole listing fail. So these
models hold enums as plain strings, accept fields they do not know (``extra="allow"``), and offer
``unknown_values()`` so a caller can say "upgrade to see this properly" instead of crashing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, Required, TypedDict

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from dreadnode.training.models import (
    TrainingAlgorithm,
    TrainingModelFamily,
    TrainingModelKind,
    TrainingModelStatus,
    TrainingModelType,
    TrainingRenderer,
)

__all__ = [
    "CatalogModel",
    "CatalogPage",
    "Completion",
    "CostEstimate",
    "Dataset",
    "DatasetPage",
    "ErrorItem",
    "GraderDeclaration",
    "Hyperparameters",
    "Job",
    "JobCheckpoint",
    "JobCreate",
    "JobError",
    "JobEvent",
    "JobEvents",
    "JobMetrics",
    "JobPage",
    "JobProgress",
    "JobSpec",
    "JobValidation",
    "LivePrice",
    "MetricPoint",
    "Model",
    "ModelChanges",
    "ModelPage",
    "ModelSampling",
    "ModelTraining",
    "ModelUpdate",
    "MultiDeclaration",
    "NumericDeclaration",
    "RetiredModel",
    "RetiredModels",
    "SampleMessage",
    "SampleRequest",
    "SampleResult",
    "StringCheckDeclaration",
    "TextSimilarityDeclaration",
    "TokenCount",
    "WeightedDeclaration",
]

_LENIENT = ConfigDict(extra="allow", frozen=True)


class RetiredModel(BaseModel):
    """A retirement Tinker announced: the day and the replacement it names (if any)."""

    model_config = _LENIENT

    tinker_id: str
    retired_on: date
    replacement: str | None = None
    announced_on: date | None = None


class RetiredModels(BaseModel):
    """``GET /training/catalog/retired``: every retirement in effect on the server's day."""

    model_config = _LENIENT

    retired: list[RetiredModel]
    total: int


class LivePrice(BaseModel):
    """An exact id's rates in Tinker's published price list (USD per million tokens), with when
    and from where the server fetched the list."""

    model_config = _LENIENT

    prefill: float
    sample: float
    train: float
    cached_prefill: float | None = None
    note: str | None = None
    price_as_of: datetime
    source: str


class CatalogModel(BaseModel):
    """One catalog entry as the API sent it (see ``TrainingModel`` for what each field means);
    ``lifecycle`` is ``available`` or ``retiring`` on the server's day."""

    model_config = _LENIENT

    tinker_id: str
    display_name: str
    family: str
    type: str
    size_b: float
    total_size_b: float | None = None
    context_length: int
    extended_context_length: int | None = None
    supported_algorithms: list[str] = Field(default_factory=list)
    pricing: dict[str, Any] | None = None
    kind: str | None = None
    vision: bool | None = None
    hidden_size: int | None = None
    lora_parameters_per_rank: int | None = None
    max_lora_rank: int | None = None
    renderer: str | None = None
    extended_context: bool = False
    recommended_learning_rate: float | None = None
    retirement: RetiredModel | None = None
    lifecycle: str = TrainingModelStatus.AVAILABLE.value
    #: The live price; None until the server has fetched Tinker's list, or when it names no
    #: price for this id. ``pricing`` is the catalog's own confirmed figures.
    price: LivePrice | None = None

    def unknown_values(self) -> list[str]:
        """Values this SDK's enums do not know, e.g. ``["family 'mistral'"]``; empty when none."""
        unknown = []
        if self.family not in {f.value for f in TrainingModelFamily}:
            unknown.append(f"family {self.family!r}")
        if self.type not in {t.value for t in TrainingModelType}:
            unknown.append(f"type {self.type!r}")
        if self.kind is not None and self.kind not in {k.value for k in TrainingModelKind}:
            unknown.append(f"kind {self.kind!r}")
        if self.renderer is not None and self.renderer not in {r.value for r in TrainingRenderer}:
            unknown.append(f"renderer {self.renderer!r}")
        if self.lifecycle not in {s.value for s in TrainingModelStatus}:
            unknown.append(f"lifecycle {self.lifecycle!r}")
        known_algorithms = {a.value for a in TrainingAlgorithm}
        unknown += [
            f"algorithm {a!r}" for a in self.supported_algorithms if a not in known_algorithms
        ]
        return unknown


class CatalogPage(BaseModel):
    """``GET /training/catalog``: one page of matches; ``total`` counts every match."""

    model_config = _LENIENT

    models: list[CatalogModel]
    total: int
    limit: int
    offset: int = 0


class Hyperparameters(BaseModel):
    """Training knobs; None leaves the server's default. Bounds are the server's to check.

    ``batch_size`` is rows per step, and for RL prompts per step (default 32). The RL knobs
    (refused on SFT): ``group_size`` completions sampled per prompt (2-64, default 4),
    ``max_tokens`` the most tokens one completion may have (1-32,768, default 256),
    ``temperature`` the sampling temperature (0 < x <= 2, default 1.0); with algorithm ``ppo``
    only, ``clip_low_threshold`` (0 <= x < 1, default 0.8) and ``clip_high_threshold``
    (1 < x <= 10, default 1.2), the probability ratios outside which PPO clips.
    """

    model_config = ConfigDict(extra="forbid")

    learning_rate: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    steps: int | None = None
    max_sequence_length: int | None = None
    lora_rank: int | None = None
    group_size: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    clip_low_threshold: float | None = None
    clip_high_threshold: float | None = None


class _Reads(BaseModel):
    """What a one-field grader reads: a field of the prompt's row (``answer``, or a dotted path
    such as ``metadata.answer``), and what of the completion it compares with it (``extract``:
    ``whole``, ``last_line``, ``regex`` with a ``pattern``, ``after`` with a ``marker``)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    extract: str | None = None
    pattern: str | None = None
    marker: str | None = None


class StringCheckDeclaration(_Reads):
    """A ``string_check`` grader: 1 when the extracted text and the row's field compare as
    ``operation`` says (``eq``, ``ne``, ``like``: the field's text is in it, ``ilike``: the same
    ignoring case), else 0."""

    type: Literal["string_check"]
    operation: str | None = None


class NumericDeclaration(_Reads):
    """A ``numeric`` grader: 1 when the number extracted is within ``tolerance`` (>= 0) of the
    row's field, else 0."""

    type: Literal["numeric"]
    tolerance: float | None = None


class TextSimilarityDeclaration(_Reads):
    """A ``text_similarity`` grader: how alike the extracted text and the row's field are, 0-1."""

    type: Literal["text_similarity"]


class WeightedDeclaration(BaseModel):
    """One part of a ``multi`` grader: a one-field grader and its ``weight`` (> 0)."""

    model_config = ConfigDict(extra="forbid")

    weight: float
    grader: Annotated[
        StringCheckDeclaration | NumericDeclaration | TextSimilarityDeclaration,
        Field(discriminator="type"),
    ]


class MultiDeclaration(BaseModel):
    """A ``multi`` grader: the weighted sum of its graders' scores."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["multi"]
    graders: list[WeightedDeclaration]


#: How an RL job scores each completion it samples, as the job declares it (``JobCreate``'s
#: ``grader``), told apart by ``type``. Only its shape is checked here: the server checks the
#: values (a pattern that compiles, a marker for ``extract: after``, weights above 0) and
#: reports every problem at once; ``dreadnode.training.graders`` checks them on this machine.
GraderDeclaration = Annotated[
    StringCheckDeclaration | NumericDeclaration | TextSimilarityDeclaration | MultiDeclaration,
    Field(discriminator="type"),
]


class JobCreate(BaseModel):
    """The body of ``POST /training/jobs`` and ``/validate``.

    Only shapes are checked here: the server checks values and reports every violation at once,
    which is what ``dn train ... --dry-run`` shows.
    """

    model_config = ConfigDict(extra="forbid")

    base_model: str
    method: str
    algorithm: str | None = None
    dataset: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    #: How an RL job scores its completions: required for ``rl``, refused for ``sft``.
    grader: GraderDeclaration | None = None
    #: The most the job may spend, USD (the server takes 0 < x <= 1,000,000): it refuses a job
    #: whose estimate is over it, and stops one before a step would take its spend over it.
    max_cost_usd: float | None = None


class JobSpec(TypedDict, total=False):
    """What describes a job: the keyword arguments that ``Client.create_job`` and
    ``Client.validate_job`` share, written once (``JobCreate`` is the body built from them).

    A plain dict of these keys works too: ``client.validate_job(**spec)`` then
    ``client.create_job(**spec)`` checks and submits the same job.
    """

    base_model: Required[str]
    method: Required[str]
    dataset: Required[str]
    algorithm: str | None
    name: str | None
    tags: list[str] | None
    hyperparameters: Hyperparameters | Mapping[str, Any] | None
    #: A declaration (``GraderDeclaration``), a grader of ``dreadnode.training.graders``, or the
    #: same as a plain dict (``{"type": "string_check", "field": "answer"}``).
    grader: GraderDeclaration | BaseModel | Mapping[str, Any] | None
    max_cost_usd: float | None


class ErrorItem(BaseModel):
    """One violation or warning: where (``loc``), what (``msg``), and a stable ``type``."""

    model_config = _LENIENT

    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str = ""


class JobProgress(BaseModel):
    """How far a run has come: optimizer steps done of ``total_steps`` (None until the worker
    has read the dataset), and whole passes over the dataset done."""

    model_config = _LENIENT

    step: int = 0
    total_steps: int | None = None
    epochs_completed: int = 0


class JobCheckpoint(BaseModel):
    """A checkpoint the job saved on Tinker: ``checkpoint_type`` is ``training`` (weights and
    optimizer state: a run resumes from it) or ``sampler`` (weights to sample from)."""

    model_config = _LENIENT

    checkpoint_id: str
    checkpoint_type: str
    step: int
    time: datetime
    tinker_path: str
    size_bytes: int | None = None


class JobError(BaseModel):
    """Why a job failed: a stable ``type`` (``invalid_dataset``, ``tinker_error``,
    ``worker_lost``, ...) and a message for people."""

    model_config = _LENIENT

    type: str
    message: str


class CostEstimate(BaseModel):
    """What a job's ``estimated_cost_usd`` rests on: Tinker's train rate for the exact id (USD
    per million tokens), when the server fetched the price list (``price_as_of``) and from where
    (``price_source``); or, when there is no estimate, ``reason`` says why in words ("token
    counts pending: ...", "no price known for 'X' in Tinker's price list", ...).

    Every field may be None: an answer from an older server has no estimate at all, and then
    this reads as unknown with no reason (``dreadnode.cli.costs`` words that case itself).
    """

    model_config = _LENIENT

    train_usd_per_million: float | None = None
    price_as_of: datetime | None = None
    price_source: str | None = None
    reason: str | None = None


class Job(BaseModel):
    """A training job; ``status`` is queued, running, completed, failed or cancelled.

    ``hyperparameters`` are the effective values, ``defaulted_hyperparameters`` the names the
    server filled in; ``warnings`` come with a creation only (``model_retiring``, ...).
    ``grader`` is an RL job's grader as it was declared (a dict: a newer server's grader types
    read as well), None for SFT. ``dataset_rows`` and ``training_tokens_bound`` (the dataset's
    bytes times the epochs: a byte-level tokenizer spends at least one byte per token) are known
    for an uploaded dataset only, None for a URI the platform does not hold.

    While it has not finished, ``status_message`` says in words what it waits for or does
    ("waiting for a worker", "training: step 12 of 40", "stopping: cancel requested") and
    ``queue_position`` how many queued jobs start before it (0: next). A running job that was
    asked to stop has ``cancel_requested`` and ends ``cancelled`` at its next step. ``progress``,
    ``trained_tokens`` and ``loss`` (the latest step's) follow the run; ``checkpoints`` are
    those it saved, ``sampler_path`` the trained adapter once it completed, ``error`` why it
    failed. An older server sends none of these: they then read as not started. ``model_id``
    is the model a completed job made (``Client.get_model``: yours to sample and train on),
    None before it completed and from an older server.

    What it costs: ``tokens_per_epoch`` (the exact tokens one pass over the dataset sends to
    Tinker, what Tinker bills at its train rate) and ``total_tokens`` (the whole run's), priced
    as ``estimated_cost_usd`` on the basis ``cost_estimate`` gives (or why unknown). A job may
    carry a cap, ``max_cost_usd``; ``processed_tokens`` counts what has been sent so far (steps
    run again after a crash count again: they were sent again), and ``spent_usd`` prices them at
    the rate known at creation (None when none was). ``cancel_reason`` says why a cancelled job
    was (``user``, or ``budget``: its next step would have taken its spend over the cap). An
    older server sends none of these: the figures then read as unknown, nothing spent.
    """

    model_config = _LENIENT

    id: str
    name: str | None = None
    base_model: str
    method: str
    algorithm: str | None = None
    dataset: str
    tags: list[str] = Field(default_factory=list)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    defaulted_hyperparameters: list[str] = Field(default_factory=list)
    grader: dict[str, Any] | None = None
    adapter_parameters: int | None = None
    dataset_rows: int | None = None
    training_tokens_bound: int | None = None
    status: str
    status_message: str | None = None
    queue_position: int | None = None
    cancel_requested: bool = False
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress = Field(default_factory=JobProgress)
    trained_tokens: int = 0
    loss: float | None = None
    checkpoints: list[JobCheckpoint] = Field(default_factory=list)
    sampler_path: str | None = None
    model_id: str | None = None
    error: JobError | None = None
    warnings: list[ErrorItem] = Field(default_factory=list)
    tokens_per_epoch: int | None = None
    total_tokens: int | None = None
    estimated_cost_usd: float | None = None
    cost_estimate: CostEstimate = Field(default_factory=CostEstimate)
    max_cost_usd: float | None = None
    processed_tokens: int = 0
    spent_usd: float | None = None
    cancel_reason: str | None = None


class JobPage(BaseModel):
    """``GET /training/jobs``: the caller's jobs, newest first."""

    model_config = _LENIENT

    jobs: list[Job]
    total: int
    limit: int
    offset: int = 0


class JobEvent(BaseModel):
    """One step in a job's life, oldest first in ``JobEvents``.

    ``id`` increases with each event: pass the last one read as ``after`` to read only newer
    ones (None from an older server, which did not number them). ``type`` is ``job_pending``,
    ``job_start``, ``job_restart``, ``training_step``, ``checkpoint_save``, ``epoch_complete``,
    ``cancel_requested``, ``job_complete``, ``job_error`` or ``job_cancelled`` (a newer server
    may add more); ``data`` holds its figures: a ``training_step``'s ``step``, ``loss``,
    ``tokens``, ``learning_rate`` and ``processed_tokens`` (what the step sent to Tinker), and
    for an RL job the figures of its ``MetricPoint`` (``reward_mean``, ``reward_std``,
    ``no_signal_fraction``, ``sampled_tokens``, ``grading_errors``), a
    ``checkpoint_save``'s ``step``, ``checkpoint_type`` and ``tinker_path``, an
    ``epoch_complete``'s ``epoch``, a ``job_error``'s ``error_type``, a ``job_cancelled``'s
    ``reason`` (``user`` or ``budget``, with a ``message`` for a budget).
    """

    model_config = _LENIENT

    id: int | None = None
    type: str
    status: str | None = None
    message: str | None = None
    created_at: datetime
    data: dict[str, Any] | None = None


class JobEvents(BaseModel):
    """``GET /training/jobs/{id}/events``: one page of events, oldest first."""

    model_config = _LENIENT

    events: list[JobEvent]


class MetricPoint(BaseModel):
    """One logged training step: its mean loss per token, the tokens it trained on, and the
    learning rate it used.

    An RL step adds how its completions scored: ``reward_mean`` and ``reward_std`` (population)
    of their rewards, ``no_signal_fraction`` (the share of prompts whose completions all scored
    alike, so taught nothing), ``sampled_tokens`` and ``grading_errors`` (completions the grader
    could not score, scored 0). None for an SFT step, and from an older server.
    """

    model_config = _LENIENT

    step: int
    loss: float
    tokens: int
    learning_rate: float
    time: datetime
    reward_mean: float | None = None
    reward_std: float | None = None
    no_signal_fraction: float | None = None
    sampled_tokens: int | None = None
    grading_errors: int | None = None


class JobMetrics(BaseModel):
    """``GET /training/jobs/{id}/metrics``: the loss curve, one point per step, in step order."""

    model_config = _LENIENT

    points: list[MetricPoint]


class JobValidation(BaseModel):
    """``POST /training/jobs/validate``: whether the job would be accepted, every reason not,
    every warning, and for a valid job what it would train with and what that would cost (the
    figures of ``Job``: ``tokens_per_epoch``, ``total_tokens``, ``estimated_cost_usd`` and its
    basis ``cost_estimate``; all unknown for an invalid job, or from an older server)."""

    model_config = _LENIENT

    valid: bool
    errors: list[ErrorItem] = Field(default_factory=list)
    warnings: list[ErrorItem] = Field(default_factory=list)
    hyperparameters: dict[str, Any] | None = None
    defaulted_hyperparameters: list[str] = Field(default_factory=list)
    adapter_parameters: int | None = None
    tokens_per_epoch: int | None = None
    total_tokens: int | None = None
    estimated_cost_usd: float | None = None
    cost_estimate: CostEstimate = Field(default_factory=CostEstimate)


class TokenCount(BaseModel):
    """One renderer's exact count of what a pass over a dataset sends to Tinker, for the
    catalog ``models`` it renders; the figures are None (and ``error`` says which line and
    why) when a row cannot be rendered with it."""

    model_config = _LENIENT

    renderer: str
    models: list[str]
    tokens_processed: int | None = None
    tokens_trained: int | None = None
    longest_row_tokens: int | None = None
    longest_row_line: int | None = None
    error: str | None = None


class Dataset(BaseModel):
    """An uploaded JSONL file, checked line by line when it arrived; ``format`` is chat,
    prompt_completion, text or prompt (``dreadnode.training.datasets.DatasetFormat``).

    The same bytes uploaded twice by one owner are one dataset (``sha256`` is its identity).
    ``longest_row_bytes`` bounds the longest row's tokens from above (at least one byte per
    token), which is how job creation warns about rows that may not fit the context.
    """

    model_config = _LENIENT

    id: str
    name: str | None = None
    format: str
    rows: int
    bytes: int
    sha256: str
    longest_row_bytes: int
    longest_row_line: int
    created_at: datetime
    #: ``pending`` until a worker has counted the exact tokens per renderer, then ``ready`` (or
    #: ``failed``, see ``token_counts_error``); ``unavailable`` for a format not counted.
    token_counts_status: str = "pending"  # noqa: S105 - a status, not a secret
    token_counts: list[TokenCount] | None = None
    token_counts_error: str | None = None

    # Not on the wire: the upload's status says it (201 new, 200 these bytes were there).
    _uploaded_before: bool = PrivateAttr(default=False)

    @property
    def uploaded_before(self) -> bool:
        """True when ``Client.upload_dataset`` was answered with a dataset the owner already had
        (the same bytes, uploaded earlier: its ``created_at`` is that earlier upload's)."""
        return self._uploaded_before


class DatasetPage(BaseModel):
    """``GET /training/datasets``: the caller's datasets, newest first."""

    model_config = _LENIENT

    datasets: list[Dataset]
    total: int
    limit: int
    offset: int = 0


class ModelSampling(BaseModel):
    """How a model is sampled unless a request says otherwise (``Model.sampling``), or how one
    sample was (``SampleResult.sampling``, the request's values with these filled in)."""

    model_config = _LENIENT

    temperature: float
    top_p: float
    max_tokens: int


class ModelTraining(BaseModel):
    """What a job on a model trains with unless it says otherwise: the root catalog model's
    recommended learning rate, and the LoRA rank (a job on one of your models keeps its
    model's: a checkpoint's rank is fixed)."""

    model_config = _LENIENT

    learning_rate: float
    lora_rank: int


class Model(BaseModel):
    """A model you can train on and sample (``GET /training/models``): a catalog base model
    (``read_only``, ``revision`` 0, no job) or one of your own, which a completed job made.

    Its ``id`` is what a job's ``base_model`` and the ``/training/models/{id}`` routes take: a
    catalog id (``Qwen/Qwen3-8B``) or yours (``ft-`` and 24 hex digits). ``parent_model`` is
    what it was trained from (a catalog id or another of your models, named still after that
    one is deleted) and ``base_model`` the catalog model at the root of that chain, whose
    renderer, context and prices it has; ``revision`` counts the trainings on top of it.

    Not the catalog's ``dreadnode.training.TrainingModel`` (a catalog entry's facts): this is
    what the service knows of a model you use, including what made it (``job_id``,
    ``method``, ``dataset``, ``trained_tokens``) and where Tinker keeps its weights.
    """

    model_config = _LENIENT

    id: str
    name: str
    description: str | None = None
    read_only: bool
    owned: bool
    parent_model: str | None = None
    base_model: str
    revision: int
    created_at: datetime | None = None
    last_modified: datetime | None = None
    default_model: bool = False
    renderer: str | None = None
    context_length: int
    sampling: ModelSampling
    training: ModelTraining
    job_id: str | None = None
    method: str | None = None
    sampler_path: str | None = None
    training_checkpoint: str | None = None
    lora_rank: int | None = None
    dataset: str | None = None
    trained_tokens: int | None = None


class ModelPage(BaseModel):
    """``GET /training/models``: your own models first (newest first), then the catalog's base
    models (catalog order); ``total`` counts every match."""

    model_config = _LENIENT

    models: list[Model]
    total: int
    limit: int
    offset: int = 0


class ModelUpdate(BaseModel):
    """The body of ``PATCH /training/models/{id}``: only the fields set are sent, so a field
    left out keeps its value while one set to None is sent as null (``description``: cleared;
    ``temperature``, ``top_p``: back to the service's default). Built from ``ModelChanges``;
    the server checks the values (a name unique among your models, the sampling bounds)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    default_model: bool | None = None
    temperature: float | None = None
    top_p: float | None = None


class ModelChanges(TypedDict, total=False):
    """The keyword arguments of ``Client.update_model``: each key given is sent, None as null.

    ``name`` renames (unique among your models); ``description`` None clears it;
    ``default_model`` True makes it your default model (and no other), False undoes that;
    ``temperature`` (0 < x <= 2) and ``top_p`` (0 < x <= 1) set what it is sampled with
    unless a request says otherwise, None restores the service's default.
    """

    name: str
    description: str | None
    default_model: bool
    temperature: float | None
    top_p: float | None


class SampleMessage(BaseModel):
    """One turn of a chat to continue: ``role`` is ``system``, ``user`` or ``assistant``.
    ``Client.sample_model`` takes these or the same as plain dicts."""

    model_config = ConfigDict(extra="forbid")

    role: str
    content: str


class SampleRequest(BaseModel):
    """The body of ``POST /training/models/{id}/sample``: ``messages`` (rendered with the
    model's renderer, the assistant's turn to come) or a raw ``prompt`` (its tokens continued
    as they are), and how to sample; None leaves a setting out, and the model's default (or
    the server's: one completion, no stop texts) applies. Only shapes are checked here: the
    server checks the bounds and reports every violation at once."""

    model_config = ConfigDict(extra="forbid")

    messages: list[SampleMessage] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: list[str] | None = None
    seed: int | None = None


class Completion(BaseModel):
    """One sampled completion: its text (decoded with the model's renderer), how many tokens
    it has, and why it ended: ``stop`` (end of turn, or a stop text, cut before it) or
    ``length`` (it reached ``max_tokens``)."""

    model_config = _LENIENT

    text: str
    tokens: int
    finish_reason: str


class SampleResult(BaseModel):
    """``POST /training/models/{id}/sample``: the completions, the tokens of the rendered
    prompt and of all completions together, the settings used (the request's, the model's
    defaults filled in) and the seed (None when the request gave none: then the same request
    may answer otherwise)."""

    model_config = _LENIENT

    model: str
    completions: list[Completion]
    prompt_tokens: int
    completion_tokens: int
    sampling: ModelSampling
    seed: int | None = None
