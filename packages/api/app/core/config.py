"""Service settings, read from the environment (pydantic-settings).

``DATABASE_URL`` keeps its conventional unprefixed name; every other setting is
``DREADNODE_API_<NAME>``. The app factory takes a ``Settings`` so tests build their own.

Without ``DATABASE_URL`` the embedded SQLite file lives in the user's data directory, one place
whatever directory a command runs from: ``tokens create`` in one directory and ``serve`` in
another must see the same tokens.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

__all__ = ["API_PREFIX", "Settings", "default_database_path", "describe_database", "sqlite_path"]

#: Every route but the bare ``/health`` lives under this prefix (docs/api.md).
API_PREFIX = "/api/v1"
_DAY_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")


class Settings(BaseSettings):
    """What an operator may tune; the defaults serve a laptop on an embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="DREADNODE_API_", extra="ignore", frozen=True)

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_database_path()}",
        validation_alias=AliasChoices("DATABASE_URL", "DREADNODE_API_DATABASE_URL"),
        min_length=1,
    )
    #: Clients whose User-Agent names an older ``dreadnode-training`` SDK get 426.
    min_sdk_version: str = "0.1.0"
    #: Requests per minute per token; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    #: Failed sign-ins (a well-formed token that matches no active one) per minute per client
    #: address before that address's invalid tokens get 429 rather than 401; 0 turns the limit
    #: off. 20: a person or a script with a stale token fails a handful of times, and is then
    #: told to back off. A valid token from the same address still passes (everyone behind one
    #: NAT or proxy shares it), so every well-formed token is still looked up: this limit does
    #: not spare the database those lookups, and guessing a 256-bit secret is hopeless anyway.
    failed_auth_per_minute: int = Field(default=20, ge=0)
    #: The proxies whose ``X-Forwarded-For`` (and ``X-Forwarded-Proto``) are believed: IP
    #: addresses or networks, comma-separated (``10.0.0.1,10.1.0.0/16``), or ``*`` for any peer.
    #: Unset (the default) believes none, and the client's address is the TCP peer's. Failed
    #: sign-ins are limited per address, so a header anyone may send must not choose it:
    #: uvicorn's own default would believe any local client, and a proxy in front that does not
    #: set the header itself would pass on whatever its clients claim.
    forwarded_allow_ips: str | None = None
    #: The day the catalog's lifecycle is judged on (``YYYY-MM-DD``); unset means today in UTC,
    #: read per request. Pin it to preview a coming retirement, or in tests.
    catalog_day: date | None = None
    #: Seconds ``migrate`` (and ``serve``, which migrates first) waits for another process's
    #: migration, or for a table a running server holds, before failing in one line. A fresh
    #: schema builds in well under a second; a minute leaves room for real migrations.
    migration_lock_timeout_seconds: float = Field(default=60.0, gt=0)
    #: The largest request line plus headers, in bytes (431 and the connection closed above
    #: it, as soon as that much has arrived, however it arrives). 16 KiB, h11's and Node's
    #: default: a request from the SDK or curl carries well under 1 KiB, a large cookie jar
    #: still fits.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    #: The most header fields a request may carry (431 above). 100, Apache's default: a browser
    #: sends about 20, a request through a few proxies with tracing headers under 50; thousands
    #: of tiny fields are only a way to make the server build thousands of objects.
    max_header_fields: int = Field(default=100, ge=10)
    #: Seconds a connection may take to send a request's line and headers, from its first byte
    #: (or from its opening); then it is closed. 10 s: a head is one packet on any link, and a
    #: client that trickles one ("slowloris") holds a connection no longer than that.
    header_read_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Seconds an idle keep-alive connection stays open between requests. 10 s: longer than the
    #: SDK's (httpx's) own 5 s, so the client always gives up a connection first and never sends
    #: a request on one the server is closing.
    keep_alive_timeout_seconds: int = Field(default=10, ge=1)
    #: Seconds a stopping worker (SIGTERM, or its supervisor gone) lets requests in progress
    #: finish before it cancels them. 20 s: past any request's own bounds, and inside the 30 s
    #: an orchestrator such as Kubernetes waits before it sends SIGKILL.
    shutdown_timeout_seconds: int = Field(default=20, ge=1)
    #: Seconds uvicorn's supervisor waits for a worker to answer its liveness ping before it
    #: kills and replaces it (``--workers`` above 1). uvicorn's own 5 s counts from the spawn,
    #: and a spawned worker imports the whole app before it can answer: on a loaded two-core
    #: machine that took longer, so every worker was killed as hung and respawned into the same
    #: slow import, and the server never served. 30 s still replaces a truly hung worker.
    worker_healthcheck_timeout_seconds: int = Field(default=30, ge=1)
    #: The largest request body, in bytes (413 above it, before it is buffered). 1 MiB: the
    #: largest job body that can validate is under 20 KB even with every character escaped, so
    #: this leaves room for any formatting while capping what one request can make the server
    #: hold.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    #: Seconds a request body has to arrive in full, from the moment its headers did (408
    #: after). A job body is a few hundred bytes: 10 s is ample on any link, and bounds how long
    #: a client that stops mid-body holds a connection.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Hours an ``Idempotency-Key`` is remembered (its replay answered); after that the key may
    #: be used again, for a new job. 24 h, as Stripe keeps them: long past any client's retries.
    idempotency_ttl_hours: float = Field(default=24.0, gt=0)
    #: The largest dataset upload, in bytes (413 above it: at once for a larger
    #: ``Content-Length``, else as soon as the stream passes it). 1 GiB: an SFT set of a few
    #: hundred thousand long chats; uploads stream to the store, so the server never holds more
    #: than a chunk and one row of it, whatever this is.
    dataset_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    #: Seconds a dataset upload may go without a single byte arriving (408 after). Not a
    #: deadline for the whole body, as for job bodies: a 200 MB file on a slow link takes
    #: minutes, and only a client that has stopped sending should be cut off.
    dataset_idle_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Where uploaded datasets live: a directory, or ``s3://bucket/prefix`` for an
    #: S3-compatible object store (credentials from the standard ``AWS_*`` variables). Unset: a
    #: directory beside the SQLite file (``<db>.datasets``), or ``datasets`` in the data
    #: directory when the database is elsewhere (``app.datasets.store.open_store``).
    dataset_store: str | None = None
    #: The endpoint of an S3-compatible store other than AWS's (MinIO, R2, a local moto),
    #: e.g. ``http://127.0.0.1:9000``; unset means AWS itself.
    s3_endpoint_url: str | None = None

    #: Where Tinker publishes its price list (JSON beside its Models & Pricing page). Blank: no
    #: live prices, as for a deployment that cannot reach Tinker's documentation site.
    price_list_url: str | None = "https://tinker-docs.thinkingmachines.ai/tinker/models.json"
    #: Seconds one fetch of the price list may take in all. No request waits for it (it is
    #: fetched in the background), so this bounds only how long a hung source holds a thread.
    price_list_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: Seconds a fetched price list is kept before it is fetched again (and, up to a minute,
    #: the wait before trying again after a failed fetch). An hour: Tinker changes its rates
    #: rarely and announces it, and an hour-old price is still the price.
    price_list_ttl_seconds: float = Field(default=3600.0, ge=1)

    #: Tinker, for sampling a model (``POST /training/models/{id}/sample``): the key (Tinker's
    #: start with ``tml-``) and, for a Tinker-compatible service other than Tinker's own, its
    #: URL. The same variables the worker reads. Without a key, sampling answers 503 and says so.
    tinker_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TINKER_API_KEY", "DREADNODE_API_TINKER_API_KEY"),
        repr=False,
    )
    tinker_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TINKER_BASE_URL", "DREADNODE_API_TINKER_BASE_URL"),
    )
    #: Seconds one sample request may wait for Tinker in all (the sampling client's creation
    #: and the completions) before it answers 503 with Retry-After: long enough for a few
    #: hundred tokens on a loaded service, short enough that no request holds a thread long.
    sample_timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    #: Seconds to open a connection to PostgreSQL before the request gets 503: libpq's
    #: ``connect_timeout`` (whole seconds, at least 2; per address the host name resolves to).
    #: Within a region a connection opens in milliseconds, TLS included; 3 s is ample for that
    #: and still a quick answer when the database is down or unreachable.
    db_connect_timeout_seconds: int = Field(default=3, ge=2)
    #: Seconds one statement may run on PostgreSQL (its ``statement_timeout``; 503 after). Every
    #: statement this service sends is an indexed read or a one-row write taking milliseconds, so
    #: 5 s cuts off only a database that is overloaded or stuck behind a lock. No request holds a
    #: connection longer than this plus 1 s either: a database that stops answering altogether,
    #: and so cannot time itself out, fails the request as quickly.
    db_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    #: Seconds a request waits for a free pooled connection (503 after). Requests hold one for
    #: milliseconds, so waiting seconds means the database is stuck or the server overloaded.
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    #: Seconds a write waits for SQLite's write lock (its busy timeout; 503 after). A writer here
    #: holds it for a millisecond or two, so only a lock held by something else (a backup, a
    #: stuck process, a long transaction in the ``sqlite3`` shell) lasts 5 s.
    sqlite_busy_timeout_seconds: float = Field(default=5.0, gt=0)
    #: SQLite's ``synchronous`` in WAL mode. ``FULL`` (the default) syncs the log at every
    #: commit, so a job the API acknowledged survives an OS crash or a power cut; ``NORMAL``
    #: syncs only at checkpoints: faster, but such a crash may undo the latest acknowledged jobs.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: Seconds ``/health`` waits for the database before it answers 503 ``degraded``: it answers
    #: within this however the database fails, inside the probe timeouts load balancers and
    #: orchestrators commonly use (5 s or more), so they see "degraded", never a timeout.
    health_timeout_seconds: float = Field(default=2.0, gt=0)

    #: Seconds a training worker's heartbeat stays good. A worker beats every third of it; one
    #: silent for longer is taken for dead, and another worker resumes its jobs from their last
    #: checkpoints. 30 s: three missed beats (a long pause or a lost machine, not a slow query),
    #: and short enough next to any real training step that little waits behind a dead worker.
    worker_lease_seconds: float = Field(default=30.0, ge=3)
    #: Optimizer steps between two checkpoints (Tinker ``save_state``) of a running job, besides
    #: the one at its end. A worker that dies loses at most this many steps. 20, the Tinker
    #: cookbook's ``save_every``: a LoRA checkpoint costs seconds, a step about as much, so the
    #: loss on a crash stays a few minutes at most while saving costs a few percent.
    checkpoint_every_steps: int = Field(default=20, ge=1)
    #: How many times a job may be started by a worker, its first start included, before it
    #: fails as ``worker_lost``. 3: one crash is bad luck and two may be a machine; a job that
    #: takes down every worker that runs it must stop costing compute.
    job_max_attempts: int = Field(default=3, ge=1)

    #: The PostgreSQL schema the workers' durable queue (DBOS) keeps its tables in, beside ours
    #: in the same database. Two deployments sharing one database need two schemas, or each
    #: would take the other's jobs. On SQLite the queue has a file of its own (``<db>.dbos``).
    worker_queue_schema: str = Field(default="dbos", pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    @field_validator("dataset_store", "s3_endpoint_url", "price_list_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty variable means unset, as a deployment template leaves it."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("price_list_url")
    @classmethod
    def _check_price_list_url(cls, value: str | None) -> str | None:
        """http or https only: the fetch must not read a local file a typo names."""
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _check_proxies(cls, value: object) -> object:
        """Blank means unset; else every entry must be an address or a network (or the whole
        value ``*``), normalized to ``a,b``. uvicorn would take a typo for a host name that no
        peer ever has, and silently believe no proxy at all."""
        if not isinstance(value, str):
            return value
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if not entries:
            return None
        if entries == ["*"]:
            return "*"
        for entry in entries:  # parsed as uvicorn parses them
            try:
                if "/" in entry:
                    ipaddress.ip_network(entry)
                else:
                    ipaddress.ip_address(entry)
            except ValueError as err:
                raise ValueError(
                    f"must be IP addresses or networks separated by commas, or *: {err}"
                ) from None
        return ",".join(entries)

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper_synchronous(cls, value: object) -> object:
        """``full`` and ``FULL`` alike, as SQLite itself takes them."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("catalog_day", mode="before")
    @classmethod
    def _check_day(cls, value: object) -> object:
        """Only the calendar form, as ``dn`` reads ``DREADNODE_CATALOG_DAY``: pydantic alone
        would also take a unix timestamp or a datetime. Blank means unset."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if _DAY_FORM.fullmatch(text):
            with contextlib.suppress(ValueError):  # 2026-02-30 has the form but is no day
                return date.fromisoformat(text)
        raise ValueError(f"must be a date like 2026-06-01 (YYYY-MM-DD), got {value!r}")

    @field_validator("min_sdk_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)*", value):
            raise ValueError("min_sdk_version must look like 1.2.3")
        return value


APP_DIRECTORY = "dreadnode-api"
DATABASE_FILE = "dreadnode-api.db"


def default_database_path() -> Path:
    """Where the embedded SQLite file lives unless ``DATABASE_URL`` says otherwise.

    The platform's per-user data directory: ``$XDG_DATA_HOME`` (when absolute, as the XDG spec
    requires) or ``~/.local/share`` on Linux and other Unixes, ``~/Library/Application Support``
    on macOS, ``%LOCALAPPDATA%`` on Windows; then ``dreadnode-api/dreadnode-api.db``. These few
    rules are all this service needs of a platform-directories library, so it takes none.
    """
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = Path(os.environ.get("XDG_DATA_HOME", ""))
        base = xdg if xdg.is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIRECTORY / DATABASE_FILE


def sqlite_path(url: str) -> Path | None:
    """The absolute file a ``sqlite:`` URL names; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def describe_database(url: str) -> str:
    """The database as an operator should see it: a SQLite file's path, or the URL with any
    password masked (never printed, even in an error)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite in memory (gone when the process ends)"
    return parsed.render_as_string(hide_password=True)
