"""Migrations that change what existing rows mean: each revision's data step, on a database
that holds rows written before it, on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.core.db import migrate
from app.models import Job
from app.schemas import JobPublic
from app.storage.datasets import PROMPT_NOT_COUNTED

from .conftest import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_datasets_uploaded_before_token_counts_are_counted_after_the_upgrade(
    backend: str, tmp_path: Path
) -> None:
    """v0008 on a database with datasets: the workers count the supervised ones (``pending``);
    a prompt dataset says it is not counted, in the words the service writes for new ones."""
    with fresh_database(backend, tmp_path) as url:
        migrate(url, "v0007")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                for number, fmt in enumerate(("chat", "prompt"), start=1):
                    connection.execute(
                        text(
                            "INSERT INTO datasets (id, owner, name, format, rows, bytes, sha256, "
                            "longest_row_bytes, longest_row_line, created_at) VALUES (:id, 'o', "
                            "NULL, :fmt, 1, 10, :sha, 10, 1, CURRENT_TIMESTAMP)"
                        ),
                        {"id": f"ds-{number:024x}", "fmt": fmt, "sha": f"{number:064x}"},
                    )
            migrate(url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT format, token_counts_status, token_counts, token_counts_error "
                        "FROM datasets ORDER BY seq"
                    )
                ).all()
        finally:
            engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("chat", "pending", None, None),
        ("prompt", "unavailable", None, PROMPT_NOT_COUNTED),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_jobs_from_before_costs_say_they_were_not_estimated_and_keep_why_they_stopped(
    backend: str, tmp_path: Path
) -> None:
    """v0009 on a database with jobs: nothing was sent or capped; a cancelled job was cancelled
    by its owner (the only way there was); the API says the cost was never estimated."""
    with fresh_database(backend, tmp_path) as url:
        migrate(url, "v0008")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                for number, status in enumerate(("queued", "cancelled"), start=1):
                    connection.execute(
                        text(
                            "INSERT INTO jobs (id, owner, base_model, method, algorithm, dataset,"
                            " tags, hyperparameters, defaulted_hyperparameters, status, "
                            "created_at, updated_at) VALUES (:id, 'o', 'Qwen/Qwen3-8B', 'sft', "
                            "'sft', 's3://b/t.jsonl', '[]', '{}', '[]', :status, "
                            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                        ),
                        {"id": f"job-{number}", "status": status},
                    )
            migrate(url)
            with Session(engine) as session:
                jobs = session.scalars(select(Job).order_by(Job.seq)).all()
                public = [JobPublic.model_validate(job) for job in jobs]
        finally:
            engine.dispose()
    assert [(job.status, job.cancel_reason) for job in public] == [
        ("queued", None),
        ("cancelled", "user"),
    ]
    for job in public:
        assert (job.processed_tokens, job.spent_usd, job.max_cost_usd) == (0, None, None)
        assert job.estimated_cost_usd is None
        assert job.cost_estimate.reason == "the job was created before costs were estimated"
