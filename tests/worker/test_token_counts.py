"""Exact token counts: a worker renders an uploaded dataset with every catalog renderer, and the
dataset shows what a job on each model would send, figure for figure what rendering it gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, update

from app.models import Dataset
from app.worker.rendering import get_row_renderer
from app.worker.token_counts import renderer_groups
from dreadnode.client import UnprocessableEntityError
from tests.worker.conftest import CHAT_ROWS, Deployment, wait_for

QWEN = "Qwen/Qwen3-8B"
#: One chat of two assistant turns: the trainer sends one sequence per turn, and so is counted.
TWO_TURNS = {
    "messages": [
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "Seven."},
        {"role": "user", "content": "A larger one?"},
        {"role": "assistant", "content": "Eleven, and then thirteen."},
    ]
}


def _counted(jobs: Deployment, dataset_id: str) -> Any:
    def ready() -> Any:
        jobs.check_workers()
        with jobs.client() as client:
            dataset = client.get_dataset(dataset_id)
        return dataset if dataset.token_counts_status != "pending" else None

    return wait_for(f"dataset {dataset_id}'s token counts", ready, timeout=180)


def _expected(renderer: str, model: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the renderer itself gives for these rows (lines 1..n)."""
    rendered = [
        (line, sequence)
        for line, row in enumerate(rows, start=1)
        for sequence in get_row_renderer(renderer, model).render(row, line)
    ]
    longest_line, longest = max(rendered, key=lambda item: len(item[1].tokens))
    return {
        "tokens_processed": sum(len(sequence.tokens) for _, sequence in rendered),
        "tokens_trained": sum(sum(1 for w in seq.weights[1:] if w > 0) for _, seq in rendered),
        "longest_row_tokens": len(longest.tokens),
        "longest_row_line": longest_line,
        "error": None,
    }


def test_a_worker_counts_an_uploaded_datasets_exact_tokens_per_renderer(
    no_tinker: Deployment, tmp_path: Path
) -> None:
    jobs = no_tinker
    rows = [*CHAT_ROWS[:3], TWO_TURNS]
    dataset_id = jobs.upload(tmp_path / "chat.jsonl", rows)
    with jobs.client() as client:
        assert client.get_dataset(dataset_id).token_counts_status == "pending"
    jobs.start_worker("counter")
    dataset = _counted(jobs, dataset_id)
    assert (dataset.token_counts_status, dataset.token_counts_error) == ("ready", None)
    counts = {(count.renderer, tuple(count.models)): count for count in dataset.token_counts}
    # Every trainable catalog id is counted once, under the renderer it trains with.
    expected_groups = {(name, tuple(models)) for (name, _), models in renderer_groups().items()}
    assert set(counts) == expected_groups
    for (renderer, models), count in counts.items():
        figures = count.model_dump(exclude={"renderer", "models"})
        assert figures == _expected(renderer, models[0], rows), renderer
        # Only the assistants' tokens are trained on.
        assert 0 < figures["tokens_trained"] < figures["tokens_processed"]
    # Counted, the dataset is judged by its exact lengths: a job whose sequences are shorter
    # than its longest rendered row is refused, naming that row and its length, and not stored.
    qwen = next(count for count in dataset.token_counts if "Qwen/Qwen3-8B" in count.models)
    limit = qwen.longest_row_tokens - 1
    body = {"base_model": "Qwen/Qwen3-8B", "method": "sft", "dataset": dataset_id,
            "hyperparameters": {"max_sequence_length": limit}}  # fmt: skip
    with jobs.client() as client:
        listed_before = client.list_jobs().total
        refused = client.validate_job(**body)
        with pytest.raises(UnprocessableEntityError) as created:
            client.create_job(**body)
        assert client.list_jobs().total == listed_before
    assert [error.type for error in refused.errors] == ["dataset_row_too_long"]
    assert refused.errors[0].msg == (
        f"Dataset {dataset_id!r}: line {qwen.longest_row_line} is {qwen.longest_row_tokens} "
        f"tokens rendered for 'Qwen/Qwen3-8B' (qwen3), more than max_sequence_length {limit}"
    )
    assert [error["type"] for error in created.value.errors] == ["dataset_row_too_long"]
    with jobs.client() as client:
        body["hyperparameters"] = {"max_sequence_length": qwen.longest_row_tokens}
        assert client.validate_job(**body).errors == []


def test_counts_made_for_another_catalog_are_made_again_and_a_failure_keeps_the_old(
    no_tinker: Deployment, tmp_path: Path
) -> None:
    """A release that adds a model counts again what an older one counted without it (here:
    counts that lack Qwen3-8B, made for another catalog), while the old figures serve; and
    counting again is an improvement, never a loss: when it fails (here the stored file is
    gone), the dataset keeps its counts, and is not tried again and again."""
    jobs = no_tinker
    again = jobs.upload(tmp_path / "again.jsonl", CHAT_ROWS[:4])
    lost = jobs.upload(tmp_path / "lost.jsonl", CHAT_ROWS[4:])
    counter = jobs.start_worker("first-release")
    complete = {dataset_id: _counted(jobs, dataset_id) for dataset_id in (again, lost)}
    counter.stop()
    for stored in jobs.workdir.rglob(f"*{complete[lost].sha256}*"):
        stored.unlink()
    without_qwen = [c.model_dump() for c in complete[again].token_counts if QWEN not in c.models]
    engine = create_engine(jobs.env["DATABASE_URL"])

    def counted_for(dataset_id: str) -> Any:
        with engine.connect() as connection:
            query = select(Dataset.token_counts_catalog).where(Dataset.id == dataset_id)
            return connection.scalar(query)

    body = {"base_model": QWEN, "method": "sft", "dataset": again}
    try:
        with engine.begin() as connection:
            older = update(Dataset).values(token_counts_catalog="an-older-catalog")
            connection.execute(older.where(Dataset.id == lost))
            connection.execute(older.where(Dataset.id == again).values(token_counts=without_qwen))
        with jobs.client() as client:
            assert client.validate_job(**body).cost_estimate.reason == (
                f"the dataset's tokens were not counted for {QWEN!r}"
            )
        jobs.start_worker("next-release")

        def recounted() -> Any:
            with jobs.client() as client:
                # The old figures serve meanwhile: the dataset never goes back to pending.
                assert client.get_dataset(again).token_counts_status == "ready"
                return client.validate_job(**body).tokens_per_epoch

        tokens = wait_for("the dataset to be counted again", recounted, timeout=180)
        wait_for(
            "the lost dataset's count to be given up",
            lambda: counted_for(lost) == counted_for(again),
            timeout=120,
        )
    finally:
        engine.dispose()
    qwen = next(count for count in complete[again].token_counts if QWEN in count.models)
    assert tokens == qwen.tokens_processed
    with jobs.client() as client:
        assert client.get_dataset(again).token_counts == complete[again].token_counts
        kept = client.get_dataset(lost)
    assert (kept.token_counts_status, kept.token_counts_error) == ("ready", None)
    assert kept.token_counts == complete[lost].token_counts
    assert any("not counted again" in worker.log_text() for worker in jobs.workers)
