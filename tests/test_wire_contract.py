"""The SDK client's types against the OpenAPI document the real server serves.

The request and response shapes are written twice, once per package (``app.schemas`` on the
server, ``dreadnode.client.types`` in the SDK), and neither package may import the other. This
test is what keeps them one contract: it reads ``/api/v1/openapi.json`` from a running server and
compares each client type with the schema of the response (or request body) it is used for, so a
change on either side fails CI until the other follows.

The client is lenient on purpose (``extra="allow"``, enums held as plain strings so a newer
server's values do not break an older SDK), so the comparison asks only what would hurt a user:

* a field the server sends that the client type lacks (it would arrive untyped, or be lost);
* a field the client requires that the server may leave out, or a null the client refuses;
* a JSON type the client cannot read (a string where it wants a number, a plain string where it
  parses a date);
* for the job body, a field either side has and the other does not, and a field the server
  requires that the client may leave out;
* enum members: where the client keeps a string but the SDK knows the values (the catalog's
  enums, the CLI's status choices), the server's members must be exactly those.

Client types are mapped to operations, never to server component names, through one table keyed
by (method, path, status); every JSON response an operation documents must be in it, so a new
operation or status without a client type fails here too. A type nested in an answer (a job's
``progress``, ``checkpoints`` and ``error``, a loss curve's points) is compared through the answer
that holds it, and every pydantic type the client module exports must be reached that way.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Required, get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel, ConfigDict, Field

from dreadnode.cli.contract import (
    CANCEL_REASONS,
    DATASET_FORMATS,
    FINISH_REASONS,
    JOB_STATUSES,
    METHODS,
    MODEL_KINDS,
    SAMPLE_ROLES,
    TOKEN_COUNT_STATUSES,
)
from dreadnode.client import types as client_types
from dreadnode.client.types import (
    CatalogModel,
    CatalogPage,
    Completion,
    Dataset,
    DatasetPage,
    ErrorItem,
    Job,
    JobCreate,
    JobEvent,
    JobEvents,
    JobMetrics,
    JobPage,
    JobSpec,
    JobValidation,
    Model,
    ModelPage,
    ModelUpdate,
    NumericDeclaration,
    RetiredModels,
    SampleMessage,
    SampleRequest,
    SampleResult,
    StringCheckDeclaration,
    TextSimilarityDeclaration,
)
from dreadnode.training.graders import Extract, StringCheckGrader
from dreadnode.training.models import (
    TrainingAlgorithm,
    TrainingModelFamily,
    TrainingModelKind,
    TrainingModelStatus,
    TrainingModelType,
    TrainingRenderer,
)

from .conftest import LiveAPI

API = "/api/v1"

#: Each successful answer the client parses, and the client type it parses it as.
RESPONSE_TYPES: Mapping[tuple[str, str, int], type[BaseModel]] = {
    ("GET", f"{API}/training/catalog", 200): CatalogPage,
    ("GET", f"{API}/training/catalog/retired", 200): RetiredModels,
    ("GET", f"{API}/training/catalog/{{tinker_id}}", 200): CatalogModel,
    # An idempotent replay answers the same 201 and body (Idempotent-Replayed: true).
    ("POST", f"{API}/training/jobs", 201): Job,
    ("POST", f"{API}/training/jobs/validate", 200): JobValidation,
    ("GET", f"{API}/training/jobs", 200): JobPage,
    ("GET", f"{API}/training/jobs/{{job_id}}", 200): Job,
    ("POST", f"{API}/training/jobs/{{job_id}}/cancel", 200): Job,
    ("GET", f"{API}/training/jobs/{{job_id}}/events", 200): JobEvents,
    ("GET", f"{API}/training/jobs/{{job_id}}/metrics", 200): JobMetrics,
    # A new dataset is 201; the same bytes again answer the one already there, 200.
    ("POST", f"{API}/training/datasets", 201): Dataset,
    ("POST", f"{API}/training/datasets", 200): Dataset,
    ("GET", f"{API}/training/datasets", 200): DatasetPage,
    ("GET", f"{API}/training/datasets/{{dataset_id}}", 200): Dataset,
    ("GET", f"{API}/training/models", 200): ModelPage,
    ("GET", f"{API}/training/models/{{model_id}}", 200): Model,
    ("PATCH", f"{API}/training/models/{{model_id}}", 200): Model,
    ("POST", f"{API}/training/models/{{model_id}}/sample", 200): SampleResult,
}

#: Each JSON request body the client sends: the pydantic model it is built with (``JobSpec``
#: holds the same keys as keyword arguments, and is compared too). A dataset upload's body is
#: the file itself, not JSON: ``test_dataset_upload_takes_the_clients_content_type`` covers it.
REQUEST_TYPES: Mapping[tuple[str, str], type[BaseModel]] = {
    ("POST", f"{API}/training/jobs"): JobCreate,
    ("POST", f"{API}/training/jobs/validate"): JobCreate,
    ("PATCH", f"{API}/training/models/{{model_id}}"): ModelUpdate,
    ("POST", f"{API}/training/models/{{model_id}}/sample"): SampleRequest,
}

#: Operations the SDK never calls: health checks are for load balancers and operators.
NOT_CALLED_BY_CLIENT: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/health"), ("GET", f"{API}/health")}
)


class EnvelopeAsRead(BaseModel):
    """What ``Client._status_error`` reads from an error answer: ``detail`` as a string (an
    answer without one is taken for a proxy's page), ``type`` and ``errors`` for the exception.
    ``code`` is not read (the HTTP status is), but it is known: any other field is new."""

    model_config = ConfigDict(extra="allow")

    code: int | None = None
    detail: str
    type: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


#: Where the client holds an enum as a string, the values the SDK knows there: the catalog's
#: enums, and the CLI's table of what it sends (``dn train jobs list --status``, ``dn train
#: sft|rl``). Keyed by (client type, field); every enum the server sends or accepts is listed.
ENUM_VALUES: Mapping[tuple[type[BaseModel], str], Collection[str]] = {
    (CatalogModel, "family"): [m.value for m in TrainingModelFamily],
    (CatalogModel, "type"): [m.value for m in TrainingModelType],
    (CatalogModel, "kind"): [m.value for m in TrainingModelKind],
    (CatalogModel, "renderer"): [m.value for m in TrainingRenderer],
    (CatalogModel, "lifecycle"): [m.value for m in TrainingModelStatus],
    (CatalogModel, "supported_algorithms"): [m.value for m in TrainingAlgorithm],
    (Job, "method"): [m.name for m in METHODS],
    (Job, "algorithm"): [m.value for m in TrainingAlgorithm],
    (Job, "status"): JOB_STATUSES,
    (JobEvent, "status"): JOB_STATUSES,
    (JobCreate, "method"): [m.name for m in METHODS],
    (JobCreate, "algorithm"): [m.value for m in TrainingAlgorithm],
    (Dataset, "format"): DATASET_FORMATS,
    (Dataset, "token_counts_status"): TOKEN_COUNT_STATUSES,
    (Job, "cancel_reason"): CANCEL_REASONS,
    (Completion, "finish_reason"): FINISH_REASONS,
    (SampleMessage, "role"): SAMPLE_ROLES,
    # A grader's declaration, as dreadnode.training.graders (which the API mirrors) knows it.
    **{(declaration, "extract"): [m.value for m in Extract] for declaration in (
        StringCheckDeclaration, NumericDeclaration, TextSimilarityDeclaration)},
    (StringCheckDeclaration, "operation"): get_args(
        StringCheckGrader.model_fields["operation"].annotation),
}  # fmt: skip
_ENUM_VALUES_BY_NAME = {(model.__name__, name): v for (model, name), v in ENUM_VALUES.items()}

#: Formats the client parses rather than keeps as text: the server must promise them.
PARSED_FORMATS = frozenset({"date", "date-time"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# --- reading schemas ------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of the wire: its name in findings, and the document its ``$ref``s point into."""

    name: str
    document: Mapping[str, Any]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """``schema`` with every ``$ref`` (and a lone ``allOf`` wrapper) followed."""
        while True:
            if "$ref" in schema:
                target: Any = self.document
                for part in str(schema["$ref"]).removeprefix("#/").split("/"):
                    target = target[part]
                extra = {k: v for k, v in schema.items() if k != "$ref"}
                schema = {**target, **extra}
            elif len(schema.get("allOf", ())) == 1:
                extra = {k: v for k, v in schema.items() if k != "allOf"}
                schema = {**schema["allOf"][0], **extra}
            else:
                return schema

    def variants(self, schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The alternatives a value may take: ``anyOf``/``oneOf`` flattened, a list of types or
        OpenAPI 3.0's ``nullable`` split into one alternative each. A ``format`` beside the
        alternatives holds for each of them (JSON Schema applies it to a string wherever it
        stands: ``{"anyOf": [string, null], "format": "date-time"}`` is a date-time or null)."""
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                shared = {"format": schema["format"]} if "format" in schema else {}
                return [{**shared, **v} for branch in schema[key] for v in self.variants(branch)]
        kind = schema.get("type")
        if isinstance(kind, list):
            return [{**schema, "type": one} for one in kind]
        if schema.get("nullable") is True:
            return [{k: v for k, v in schema.items() if k != "nullable"}, {"type": "null"}]
        return [schema]


def json_kind(schema: Mapping[str, Any]) -> str | None:
    """The JSON type a resolved alternative stands for; None when it accepts anything."""
    if isinstance(schema.get("type"), str):
        return str(schema["type"])
    values = schema.get("enum", [schema["const"]] if "const" in schema else None)
    if values:
        kinds = {
            "null" if v is None else "boolean" if isinstance(v, bool) else type(v).__name__
            for v in values
        }
        names = {"str": "string", "int": "integer", "float": "number"}
        return names.get(kinds.pop()) if len(kinds) == 1 else None
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _tag(schema: Mapping[str, Any]) -> object:
    """The constant ``type`` of an object in a union told apart by it (a grader's
    ``"string_check"``), so that each side's variant is compared with its namesake; None for an
    object without one."""
    tag = schema.get("properties", {}).get("type", {})
    if "const" in tag:
        return tag["const"]
    members = tag.get("enum", ())
    return members[0] if len(members) == 1 else None


def accepts(consumer_kind: str, producer_kind: str) -> bool:
    return consumer_kind == producer_kind or (consumer_kind, producer_kind) == ("number", "integer")


# --- comparing ------------------------------------------------------------------------------


@dataclass
class Comparison:
    """Whether every value ``producer`` may write is one ``consumer`` reads, field by field.

    For a response the server produces and the client consumes; for a request body the other
    way round, where the server also must not accept fields the client cannot send, and a null
    is never produced (the client leaves ``None`` out of the body).
    """

    producer: Side
    consumer: Side
    request: bool = False
    findings: list[str] = field(default_factory=list)
    enums: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    #: The client's object types (their titles) compared field by field with the server's.
    client_models: set[str] = field(default_factory=set)

    @property
    def server_is_producer(self) -> bool:
        return not self.request

    def value(
        self,
        produced: Mapping[str, Any],
        consumed: Mapping[str, Any],
        where: str,
        location: tuple[str, str] | None = None,
    ) -> None:
        consumer_variants = self.consumer.variants(consumed)
        if any(json_kind(c) is None for c in consumer_variants):
            return  # the consumer takes anything here (``Any``, ``dict[str, Any]`` values)
        for p in self.producer.variants(produced):
            kind = json_kind(p)
            if self.request and kind == "null":
                continue
            matches = [c for c in consumer_variants if kind and accepts(str(json_kind(c)), kind)]
            if not matches:
                readable = sorted({str(json_kind(c)) for c in consumer_variants})
                self.findings.append(
                    f"{where}: the {self.producer.name} may send {kind or 'anything'}, "
                    f"the {self.consumer.name} accepts only {' or '.join(readable)}"
                )
                continue
            exact = [c for c in matches if json_kind(c) == kind]
            tagged = [c for c in exact if kind == "object" and _tag(c) == _tag(p)]
            self._same_kind(p, (tagged or exact or matches)[0], str(kind), where, location)

    def _same_kind(
        self,
        p: Mapping[str, Any],
        c: Mapping[str, Any],
        kind: str,
        where: str,
        location: tuple[str, str] | None,
    ) -> None:
        if kind == "object":
            self._object(p, c, where)
        elif kind == "array":
            self.value(p.get("items", {}), c.get("items", {}), f"{where}[]", location)
        if "enum" in p or "enum" in c:
            server = p if self.server_is_producer else c
            self._enum(server.get("enum"), where, location)
        wanted = c.get("format")
        if wanted in PARSED_FORMATS and p.get("format") != wanted:
            self.findings.append(
                f"{where}: the {self.consumer.name} parses a {wanted} string, the "
                f"{self.producer.name} promises "
                + (f"format {p['format']!r}" if "format" in p else "a string in no format")
            )

    def _enum(
        self, members: list[Any] | None, where: str, location: tuple[str, str] | None
    ) -> None:
        if members is None:
            self.findings.append(f"{where}: the client side has an enum, the server none")
            return
        if location is None or location not in _ENUM_VALUES_BY_NAME:
            self.findings.append(
                f"{where}: the server's enum {sorted(members)} is not in ENUM_VALUES "
                f"(as {location}); list the values the SDK knows there"
            )
            return
        self.enums[location] = members
        known = _ENUM_VALUES_BY_NAME[location]
        if set(known) != set(members):
            self.findings.append(
                f"{where}: enum members differ: server {sorted(members)}, SDK {sorted(known)}"
            )

    def _object(self, p: Mapping[str, Any], c: Mapping[str, Any], where: str) -> None:
        produced: Mapping[str, Any] | None = p.get("properties")
        consumed: Mapping[str, Any] | None = c.get("properties")
        if consumed is None:
            values = c.get("additionalProperties", True)
            if isinstance(values, Mapping):
                for name, schema in (produced or {}).items():
                    self.value(schema, values, f"{where}.{name}")
            return
        if produced is None:
            self.findings.append(
                f"{where}: the {self.producer.name} sends a free-form object, the "
                f"{self.consumer.name} expects the fields {sorted(consumed)}"
            )
            return
        client = c if self.server_is_producer else p
        model = str(client.get("title", where))
        self.client_models.add(model)
        required = set(p.get("required", ()))
        for name in produced.keys() - consumed.keys():
            self.findings.append(
                f"{where}.{name}: the {self.producer.name} sends it, the {self.consumer.name}'s "
                f"{model} has no such field"
            )
        for name in sorted(set(c.get("required", ())) - required):
            never = "never sends it" if name not in produced else "may leave it out"
            self.findings.append(
                f"{where}.{name}: the {self.consumer.name}'s {model} requires it, the "
                f"{self.producer.name} {never}"
            )
        if self.request:
            for name in sorted(consumed.keys() - produced.keys()):
                self.findings.append(
                    f"{where}.{name}: the server accepts it, the client's {model} cannot send it"
                )
        for name in sorted(produced.keys() & consumed.keys()):
            self.value(produced[name], consumed[name], f"{where}.{name}", (model, name))


# --- the served document ---------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: Mapping[str, Any]

    def json_schema(self, holder: Mapping[str, Any]) -> Mapping[str, Any] | None:
        media: Mapping[str, Any] = holder.get("content", {}).get("application/json", {})
        schema: Mapping[str, Any] | None = media.get("schema")
        return schema


def operations(document: Mapping[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield Operation(method.upper(), path, item[method])


def is_error(status: str) -> bool:
    return status == "default" or status[:1] in {"4", "5"}


def response_findings(
    document: Mapping[str, Any], schema: Mapping[str, Any], model: type[BaseModel], where: str
) -> Comparison:
    client_schema = model.model_json_schema(mode="validation")
    comparison = Comparison(
        producer=Side("server", document), consumer=Side("client", client_schema)
    )
    comparison.value(schema, client_schema, where)
    return comparison


def request_findings(
    document: Mapping[str, Any], schema: Mapping[str, Any], model: type[BaseModel], where: str
) -> Comparison:
    client_schema = model.model_json_schema(mode="serialization")
    comparison = Comparison(
        producer=Side("client", client_schema), consumer=Side("server", document), request=True
    )
    comparison.value(client_schema, schema, where)
    return comparison


def all_comparisons(document: Mapping[str, Any]) -> Iterator[Comparison]:
    """Every comparison this module makes, for the checks that look across all of them."""
    for op in operations(document):
        for status, response in op.spec.get("responses", {}).items():
            schema = op.json_schema(response)
            model = (
                RESPONSE_TYPES.get((op.method, op.path, int(status))) if status.isdigit() else None
            )
            if schema is not None and model is not None:
                yield response_findings(document, schema, model, f"{op.method} {op.path} {status}")
        body = op.json_schema(op.spec.get("requestBody", {}))
        sent = REQUEST_TYPES.get((op.method, op.path))
        if body is not None and sent is not None:
            yield request_findings(document, body, sent, f"{op.method} {op.path} body")


def listing(title: str, items: Iterable[object]) -> str:
    """An assertion message with one finding per line (pytest's diff would cut them short)."""
    return "\n  ".join([f"{title}:", *map(str, items)])


@pytest.fixture(scope="module")
def openapi(live_api: LiveAPI) -> dict[str, Any]:
    """The OpenAPI document as the running server serves it (no token: the docs are public)."""
    with urllib.request.urlopen(f"{live_api.url}{API}/openapi.json", timeout=10) as answer:
        assert answer.status == 200
        document: dict[str, Any] = json.load(answer)
    return document


# --- the tests --------------------------------------------------------------------------------


def test_every_json_answer_and_body_has_a_client_type(openapi: dict[str, Any]) -> None:
    """A new operation, status or body without a client type fails; so does a mapped one the
    server no longer documents (the client would parse an answer nobody promises)."""
    unmapped, bodies, documented = [], [], set()
    for op in operations(openapi):
        if (op.method, op.path) in NOT_CALLED_BY_CLIENT:
            continue
        for status, response in op.spec.get("responses", {}).items():
            if is_error(status) or op.json_schema(response) is None:
                continue
            key = (op.method, op.path, int(status))
            documented.add(key)
            if key not in RESPONSE_TYPES:
                unmapped.append(key)
        body = op.json_schema(op.spec.get("requestBody", {}))
        if body is not None and (op.method, op.path) not in REQUEST_TYPES:
            bodies.append((op.method, op.path))
    assert not unmapped, listing("JSON answers with no client type in RESPONSE_TYPES", unmapped)
    assert not bodies, listing("request bodies with no client type in REQUEST_TYPES", bodies)
    missing = sorted(set(RESPONSE_TYPES) - documented)
    assert not missing, listing(
        "answers the client parses that the server does not document", missing
    )


@pytest.mark.parametrize(("method", "path", "status"), sorted(RESPONSE_TYPES), ids=str)
def test_client_type_reads_every_served_answer(
    openapi: dict[str, Any], method: str, path: str, status: int
) -> None:
    model = RESPONSE_TYPES[method, path, status]
    response = openapi["paths"].get(path, {}).get(method.lower(), {}).get("responses", {})
    schema = Operation(method, path, {}).json_schema(response.get(str(status), {}))
    assert schema is not None, f"{method} {path} documents no JSON answer {status}"
    found = response_findings(openapi, schema, model, f"{method} {path} {status}").findings
    assert not found, listing(f"{model.__name__} does not read what the server sends", found)


@pytest.mark.parametrize(("method", "path"), sorted(REQUEST_TYPES), ids=str)
def test_client_body_is_what_the_operation_accepts(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    spec = openapi["paths"].get(path, {}).get(method.lower(), {})
    body = spec.get("requestBody", {})
    schema = Operation(method, path, spec).json_schema(body)
    assert schema is not None, f"{method} {path} documents no JSON request body"
    assert body.get("required") is True, f"{method} {path}: the body is documented as optional"
    model = REQUEST_TYPES[method, path]
    found = request_findings(openapi, schema, model, f"{method} {path} body").findings
    assert not found, listing(f"{model.__name__} is not the body the server accepts", found)

    if model is not JobCreate:
        return
    # ``JobSpec`` is the same body as keyword arguments: the same keys, the same required ones.
    # Read from the type hints: under ``from __future__ import annotations`` Python 3.11 leaves
    # ``__required_keys__`` empty (``Required`` is still a string when it is computed).
    server = Side("server", openapi).resolve(schema)
    hints = get_type_hints(JobSpec, include_extras=True)
    assert set(hints) == set(server["properties"])
    required = {name for name, hint in hints.items() if get_origin(hint) is Required}
    assert required == set(server.get("required", ()))


def test_every_error_answer_is_the_envelope_the_client_reads(openapi: dict[str, Any]) -> None:
    findings: list[str] = []
    errors = 0
    for op in operations(openapi):
        if (op.method, op.path) in NOT_CALLED_BY_CLIENT:
            continue
        for status, response in op.spec.get("responses", {}).items():
            if not is_error(status):
                continue
            errors += 1
            where = f"{op.method} {op.path} {status}"
            schema = op.json_schema(response)
            if schema is None:
                findings.append(f"{where}: no JSON body documented")
                continue
            findings += response_findings(openapi, schema, EnvelopeAsRead, where).findings
    assert errors > 0, "no operation documents an error answer"
    assert not findings, listing("error answers the client cannot read as the envelope", findings)


def test_enums_are_the_values_the_sdk_knows(openapi: dict[str, Any]) -> None:
    """Each server enum the client meets is in ENUM_VALUES with the SDK's values (checked per
    answer above); and each ENUM_VALUES entry still meets an enum, so the table cannot go stale
    (a server enum turned into free text, or a renamed field)."""
    met: set[tuple[str, str]] = set()
    for comparison in all_comparisons(openapi):
        met.update(comparison.enums)
    stale = sorted(set(_ENUM_VALUES_BY_NAME) - met)
    assert not stale, listing("ENUM_VALUES entries where the server has no enum", stale)


def test_every_client_type_is_compared_with_what_the_server_serves(
    openapi: dict[str, Any],
) -> None:
    """Each pydantic type of ``dreadnode.client.types`` (``JobProgress``, ``JobCheckpoint``,
    ``JobError``, ``MetricPoint``...) is met field by field with the server's schema somewhere,
    through the answer or body that holds it: a type no comparison reaches would be unchecked
    (an answer that turned free-form, a field renamed on one side only)."""
    compared: set[str] = set()
    for comparison in all_comparisons(openapi):
        compared |= comparison.client_models
    exported = {
        name
        for name in client_types.__all__
        if isinstance(kind := getattr(client_types, name), type) and issubclass(kind, BaseModel)
    }
    unreached = sorted(exported - compared)
    assert not unreached, listing("client types no served schema is compared with", unreached)


def test_dataset_upload_takes_the_clients_content_type(openapi: dict[str, Any]) -> None:
    """The client streams the file as ``DATASET_CONTENT_TYPE``: the upload must document that
    media type for its (required) body, and the ``format`` query must offer the SDK's formats."""
    from dreadnode.client import DATASET_CONTENT_TYPE

    spec = openapi["paths"][f"{API}/training/datasets"]["post"]
    assert spec["requestBody"].get("required") is True
    assert DATASET_CONTENT_TYPE in spec["requestBody"]["content"]
    (query,) = [p for p in spec["parameters"] if p["name"] == "format"]
    server = Side("server", openapi)
    members = {m for v in server.variants(query["schema"]) for m in v.get("enum", ())}
    assert members == set(DATASET_FORMATS)


def test_rl_flags_refuse_exactly_what_the_server_refuses(openapi: dict[str, Any]) -> None:
    """``dn train rl`` checks its RL knobs' bounds before sending (``contract.HYPERPARAMETERS``
    restates them): at each bound the server serves, the flag takes the value when the server
    does and refuses it when the server does, and refuses what lies beyond."""
    import argparse

    from dreadnode.cli.contract import HYPERPARAMETERS

    server = Side("server", openapi)
    properties = server.resolve(openapi["components"]["schemas"]["Hyperparameters"])["properties"]
    problems: list[str] = []
    for knob in (k for k in HYPERPARAMETERS if k.methods == ("rl",)):
        bounds = next(v for v in server.variants(properties[knob.name]) if v.get("type") != "null")
        step = 1 if bounds["type"] == "integer" else 1e-6
        probes = [
            (bounds.get("minimum"), True, -step),
            (bounds.get("exclusiveMinimum"), False, -step),
            (bounds.get("maximum"), True, step),
            (bounds.get("exclusiveMaximum"), False, step),
        ]
        for bound, taken, beyond in probes:
            if bound is None:
                continue
            # The served document may write 2 as 2.0.
            at = int(bound) if bounds["type"] == "integer" else bound
            for value, expected in ((at, taken), (at + beyond, False)):
                try:
                    knob.parser(str(value))
                    took = True
                except argparse.ArgumentTypeError:
                    took = False
                if took != expected:
                    problems.append(
                        f"{knob.flag} {value}: the server {'takes' if expected else 'refuses'} it, "
                        f"dn {'takes' if took else 'refuses'} it"
                    )
    assert not problems, "\n".join(problems)


def test_dn_models_kinds_are_the_servers(openapi: dict[str, Any]) -> None:
    (kind,) = [
        parameter
        for parameter in openapi["paths"][f"{API}/training/models"]["get"]["parameters"]
        if parameter["name"] == "kind"
    ]
    schema = Side("server", openapi).resolve(kind["schema"])
    members = next(
        option for option in schema.get("anyOf", [schema]) if "enum" in option or "$ref" in option
    )
    assert sorted(Side("server", openapi).resolve(members)["enum"]) == sorted(MODEL_KINDS)
