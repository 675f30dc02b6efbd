"""``/training/models``: what a user can train on and sample, in one list: the catalog's base
models (read-only) and the caller's own (what their completed jobs made), each readable, and the
caller's own renamed, described, made the default or deleted; and sampling either kind."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from starlette.convertors import StringConvertor, register_url_convertor

from app.api.body import PydanticJsonRoute, json_body, parse_body
from app.api.deps import CatalogDay, CurrentUser, SessionDep, WriterUser
from app.api.responses import error_responses
from app.errors import (
    APIError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ValidationFailedError,
    error_item,
)
from app.model_schemas import (
    Completion,
    ModelKind,
    ModelPublic,
    ModelSampling,
    ModelsPublic,
    ModelTraining,
    ModelUpdate,
    SampleRequest,
    SampleResponse,
)
from app.models import TrainedModel
from app.sampling import (
    Sampler,
    SampleSpec,
    SamplingUnavailableError,
    TinkerDownError,
    TinkerRefusedError,
)
from app.schemas import MAX_OFFSET
from app.storage import models as store
from app.training.catalog import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_LORA_RANK,
    TrainingModel,
    describe_unknown_training_model,
    filter_training_models,
    get_training_model,
)
from app.training.own_models import (
    MODEL_ID_PREFIX,
    SAMPLING_DEFAULTS,
    describe_retired_root,
)

__all__ = ["router"]

router = APIRouter(prefix="/training/models", tags=["models"], route_class=PydanticJsonRoute)


class _ModelIdConvertor(StringConvertor):
    """A model id: a catalog id (which holds a slash) or one of the caller's (``ft-...``), never
    ending in ``/sample``, which names the sampling operation: ``GET .../sample`` is then the
    405 of a path that answers only POST, not a lookup of a model called 'sample'."""

    regex = ".+(?<!/sample)"


register_url_convertor("model_id", _ModelIdConvertor())

#: Seconds a client is asked to wait after Tinker failed or was too slow.
TINKER_RETRY_AFTER_SECONDS = 30
#: Longer than any id or name; bounds the work one query can ask for.
MAX_QUERY_LENGTH = 200

_ONE_MODEL = error_responses(404, s404="No such model among the catalog's and the caller's")
_OWN_MODEL = error_responses(
    403,
    404,
    s403="The token is read-only, or the model is a catalog base model (read-only)",
    s404="No such model among the caller's",
)
_BODY = error_responses(400, 408, 413, 415, s400="Malformed JSON")


class SamplingFailedError(APIError):
    """Tinker refused the sample for good: its words."""

    status_code = 502


def _not_found(model_id: str, day: date) -> NotFoundError:
    if model_id.startswith(MODEL_ID_PREFIX):
        return NotFoundError(
            f"Unknown model {model_id!r}: none of your models has that id "
            "(`dn train models list` shows them)"
        )
    return NotFoundError(describe_unknown_training_model(model_id, on=day))


def _sampling(row: TrainedModel | None) -> ModelSampling:
    return ModelSampling(
        temperature=SAMPLING_DEFAULTS.temperature
        if row is None or row.temperature is None
        else row.temperature,
        top_p=SAMPLING_DEFAULTS.top_p if row is None or row.top_p is None else row.top_p,
        max_tokens=SAMPLING_DEFAULTS.max_tokens,
    )


def _learning_rate(model: TrainingModel | None) -> float:
    return DEFAULT_LEARNING_RATE if model is None else model.default_learning_rate


def _base_public(model: TrainingModel) -> ModelPublic:
    return ModelPublic(
        id=model.tinker_id,
        name=model.display_name,
        description=None,
        read_only=True,
        owned=False,
        parent_model=None,
        base_model=model.tinker_id,
        revision=0,
        created_at=None,
        last_modified=None,
        default_model=False,
        renderer=None if model.renderer is None else model.renderer.value,
        context_length=model.context_length,
        sampling=_sampling(None),
        training=ModelTraining(learning_rate=_learning_rate(model), lora_rank=DEFAULT_LORA_RANK),
        job_id=None,
        method=None,
        sampler_path=None,
        training_checkpoint=None,
        lora_rank=None,
        dataset=None,
        trained_tokens=None,
    )


def _own_public(row: TrainedModel, day: date) -> ModelPublic:
    root = get_training_model(row.root_model, on=day)
    return ModelPublic(
        id=row.id,
        name=row.name,
        description=row.description,
        read_only=False,
        owned=True,
        parent_model=row.parent_model,
        base_model=row.root_model,
        revision=row.revision,
        created_at=row.created_at,
        last_modified=row.updated_at,
        default_model=row.default_model,
        renderer=None if root is None or root.renderer is None else root.renderer.value,
        context_length=0 if root is None else root.context_length,
        sampling=_sampling(row),
        training=ModelTraining(learning_rate=_learning_rate(root), lora_rank=row.lora_rank),
        job_id=row.job_id,
        method=row.method,
        sampler_path=row.sampler_path,
        training_checkpoint=row.training_checkpoint,
        lora_rank=row.lora_rank,
        dataset=row.dataset,
        trained_tokens=row.trained_tokens,
    )


@router.get("", response_model=ModelsPublic)
def read_models(
    *,
    session: SessionDep,
    user: CurrentUser,
    day: CatalogDay,
    kind: Annotated[
        ModelKind | None,
        Query(description="Only the caller's own models (`owned`) or the catalog's (`base`)"),
    ] = None,
    query: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            description="Only models whose id or name holds these words (the catalog's: each as "
            "a whole word; the caller's: as written, ignoring case)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ModelsPublic:
    """Every model the caller can train on and sample: their own first (newest first), then
    the catalog's base models accepted today (catalog order)."""
    own_total = 0
    own: list[ModelPublic] = []
    if kind is not ModelKind.BASE:
        own_total = store.count_models(session, owner=user.owner, query=query)
        if offset < own_total:
            rows = store.list_models(
                session, owner=user.owner, query=query, limit=limit, offset=offset
            )
            own = [_own_public(row, day) for row in rows]
    base: list[TrainingModel] = []
    if kind is not ModelKind.OWNED:
        base = filter_training_models(query=query, on=day)
    start = max(0, offset - own_total)
    page = own + [_base_public(model) for model in base[start : start + limit - len(own)]]
    return ModelsPublic(models=page, total=own_total + len(base), limit=limit, offset=offset)


def _find(session: Any, owner: str, model_id: str, day: date) -> ModelPublic:
    if model_id.startswith(MODEL_ID_PREFIX):
        row = store.get_model(session, owner=owner, model_id=model_id)
        if row is not None:
            return _own_public(row, day)
    else:
        model = get_training_model(model_id, on=day)
        if model is not None:
            return _base_public(model)
    raise _not_found(model_id, day)


@router.get(
    "/{model_id:model_id}",
    response_model=ModelPublic,
    responses={200: {"description": "The model"}, **_ONE_MODEL},
)
def read_model(
    *, model_id: str, session: SessionDep, user: CurrentUser, day: CatalogDay
) -> ModelPublic:
    """One model: a catalog id, or one of the caller's model ids."""
    return _find(session, user.owner, model_id, day)


def _writable(session: Any, owner: str, model_id: str, day: date) -> TrainedModel:
    """The caller's own model, or the answer saying why it cannot be changed."""
    if not model_id.startswith(MODEL_ID_PREFIX):
        if get_training_model(model_id, on=day) is not None:
            raise PermissionDeniedError(
                f"{model_id!r} is a catalog base model, which is read-only; train on it to make "
                "a model of your own"
            )
        raise _not_found(model_id, day)
    row = store.get_model(session, owner=owner, model_id=model_id)
    if row is None:
        raise _not_found(model_id, day)
    return row


@router.patch(
    "/{model_id:model_id}",
    response_model=ModelPublic,
    responses={
        200: {"description": "The model, updated"},
        **_BODY,
        **_OWN_MODEL,
        **error_responses(409, 422, s409="Another of the caller's models has that name"),
    },
)
def update_model(
    *,
    model_id: str,
    session: SessionDep,
    user: WriterUser,
    day: CatalogDay,
    body: Annotated[Any, json_body(ModelUpdate)],
) -> ModelPublic:
    """Rename, describe, set the sampling defaults of, or make the default one of the caller's
    models; only the fields given change."""
    update = parse_body(ModelUpdate, body)
    _writable(session, user.owner, model_id, day)
    changes = update.model_dump(include=update.model_fields_set)
    try:
        row = store.update_model(session, owner=user.owner, model_id=model_id, changes=changes)
    except store.NameTakenError:
        raise ConflictError(
            f"You already have a model named {update.name!r}; pick another name"
        ) from None
    if row is None:
        raise _not_found(model_id, day)
    return _own_public(row, day)


@router.delete(
    "/{model_id:model_id}",
    status_code=204,
    responses={
        204: {"description": "Deleted; the jobs that made it and trained on it keep their history"},
        **_OWN_MODEL,
        **error_responses(409, s409="A queued or running job trains on the model"),
    },
)
def delete_model(
    *, model_id: str, session: SessionDep, user: WriterUser, day: CatalogDay
) -> Response:
    """Delete one of the caller's models, unless a queued or running job trains on it. Its
    weights stay on Tinker; the jobs that made it and trained on it keep their history."""
    _writable(session, user.owner, model_id, day)
    try:
        deleted = store.delete_model(session, owner=user.owner, model_id=model_id)
    except store.ModelInUseError as err:
        raise ModelInUseError(model_id, err.job_ids) from None
    if not deleted:
        raise _not_found(model_id, day)
    return Response(status_code=204)


class ModelInUseError(ConflictError):
    """A model a queued or running job trains on cannot be deleted."""

    error_type = "model_in_use"

    def __init__(self, model_id: str, job_ids: list[str]) -> None:
        super().__init__(
            f"Model {model_id!r} cannot be deleted: queued or running jobs train on it "
            f"({', '.join(job_ids)}); cancel them or wait for them to finish"
        )


def _sampler(request: Request) -> Sampler:
    sampler: Sampler = request.app.state.sampler
    return sampler


def _what_to_sample(
    session: Any, owner: str, model_id: str, day: date
) -> tuple[TrainedModel | None, str]:
    """The caller's model (None for a catalog model) and the catalog model underneath, or the
    answer saying why the model cannot be sampled."""
    if not model_id.startswith(MODEL_ID_PREFIX):
        model = get_training_model(model_id, on=day)
        if model is None:
            raise _not_found(model_id, day)
        return None, model.tinker_id
    row = store.get_model(session, owner=owner, model_id=model_id)
    if row is None:
        raise _not_found(model_id, day)
    retired = describe_retired_root(store.facts_of(row), day)
    if retired is not None:
        raise ConflictError(retired)
    return row, row.root_model


_PROMPT_LOC = ("body", "messages")


@router.post(
    "/{model_id:model_id}/sample",
    response_model=SampleResponse,
    responses={
        200: {"description": "The completions"},
        **_BODY,
        **_ONE_MODEL,
        **error_responses(
            409,
            422,
            502,
            503,
            s409="The model's root base model is retired: it can no longer be sampled",
            s422="The request is invalid, or its messages cannot be rendered for the model",
        ),
    },
)
async def sample_model(
    *,
    model_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    day: CatalogDay,
    body: Annotated[Any, json_body(SampleRequest)],
) -> SampleResponse:
    """Sample one of the caller's models, or a catalog base model: ``messages`` rendered with the
    model's renderer (the assistant's turn to come), or a raw ``prompt``. Read-only tokens may
    sample."""
    asked = parse_body(SampleRequest, body)
    sampler = _sampler(request)
    row, root = await anyio.to_thread.run_sync(_what_to_sample, session, user.owner, model_id, day)
    path = None if row is None else row.sampler_path
    defaults = _sampling(row)
    catalog = get_training_model(root, on=day)
    if catalog is None or catalog.renderer is None:
        message = f"{root!r} has no renderer here, so its prompts cannot be turned into tokens"
        raise ValidationFailedError([error_item(("path", "model_id"), message, "no_renderer")])
    used = ModelSampling(
        temperature=asked.temperature or defaults.temperature,
        top_p=asked.top_p or defaults.top_p,
        max_tokens=asked.max_tokens or defaults.max_tokens,
    )
    if used.max_tokens >= catalog.context_length:
        message = (
            f"max_tokens {used.max_tokens:,} leaves no room for a prompt in {root!r}'s context"
        )
        raise ValidationFailedError(
            [error_item(("body", "max_tokens"), message, "max_tokens_too_large")]
        )
    spec = SampleSpec(
        model_path=path,
        base_model=root,
        renderer=catalog.renderer.value,
        context_length=catalog.context_length,
        messages=None
        if asked.messages is None
        else [message.model_dump() for message in asked.messages],
        prompt=asked.prompt,
        max_tokens=used.max_tokens,
        temperature=used.temperature,
        top_p=used.top_p,
        n=asked.n,
        stop=list(asked.stop),
        seed=asked.seed,
    )
    try:
        outcome = await anyio.to_thread.run_sync(sampler.sample, spec)
    except SamplingUnavailableError as err:
        raise ServiceUnavailableError(str(err), retry_after=TINKER_RETRY_AFTER_SECONDS) from None
    except TinkerDownError as err:
        raise ServiceUnavailableError(
            f"Tinker is unavailable: {err}; retry after {TINKER_RETRY_AFTER_SECONDS} s",
            retry_after=TINKER_RETRY_AFTER_SECONDS,
        ) from None
    except TinkerRefusedError as err:
        raise SamplingFailedError(str(err)) from None
    except ValueError as err:
        raise ValidationFailedError(
            [error_item(_PROMPT_LOC, str(err), "prompt_not_renderable")]
        ) from None
    return SampleResponse(
        model=model_id,
        completions=[
            Completion(text=one.text, tokens=one.tokens, finish_reason=one.finish_reason)
            for one in outcome.completions
        ],
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=sum(one.tokens for one in outcome.completions),
        sampling=used,
        seed=asked.seed,
    )
