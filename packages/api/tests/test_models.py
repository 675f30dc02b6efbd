"""``/training/models``: the models a user can train on and sample, on both backends. A model here
is made the way the worker makes one: a job created through the API, claimed and completed
through ``app.storage.job_state`` (the worker's own tests train real ones on a local engine).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import column, table, update

from app.core.db import Database
from app.storage import job_state
from app.training.catalog import get_training_model

from .conftest import RETIREMENT_DAY, RETIRING, Api, envelope
from .test_jobs import VALID, create

BASE = "Qwen/Qwen3-8B"
MODEL_ID = re.compile(r"ft-[0-9a-f]{24}")


@pytest.fixture
def db(api: Api) -> Iterator[Database]:
    database = Database(api.env["DATABASE_URL"])
    try:
        yield database
    finally:
        database.dispose()


def _job(api: Api, token: str = "alice", **changes: Any) -> dict[str, Any]:
    body = {**VALID, **changes}
    with api.client(token) as client:
        response = create(client, body)
    assert response.status_code == 201, response.json()
    created: dict[str, Any] = response.json()
    return created


def complete(db: Database, job_id: str, *, run: str = "run") -> None:
    """Complete a queued job as a worker does: claimed, then finished with its checkpoints."""
    with db.session() as session:
        assert job_state.claim(session, job_id=job_id, worker_id="w", max_attempts=3)
    with db.session() as session:
        assert job_state.complete(
            session,
            job_id=job_id,
            worker_id="w",
            sampler_path=f"tinker://{run}/sampler_weights/final",
            training_checkpoint=f"tinker://{run}/weights/final",
        )


def trained_model(api: Api, db: Database, token: str = "alice", **changes: Any) -> dict[str, Any]:
    """A model made by a completed job of ``token``'s owner, as the API shows it."""
    job = _job(api, token, **changes)
    complete(db, job["id"], run=job["id"])
    with api.client(token) as client:
        done = client.get(f"/training/jobs/{job['id']}").json()
        assert done["status"] == "completed"
        response = client.get(f"/training/models/{done['model_id']}")
    assert response.status_code == 200
    model: dict[str, Any] = response.json()
    return model


def test_a_completed_job_leaves_a_model_of_revision_1(api: Api, db: Database) -> None:
    job = _job(api, name="sums v1")
    assert job["model_id"] is None
    complete(db, job["id"], run="sums")
    with api.client() as client:
        done = client.get(f"/training/jobs/{job['id']}").json()
        events = client.get(f"/training/jobs/{job['id']}/events").json()["events"]
        model = client.get(f"/training/models/{done['model_id']}").json()
    assert MODEL_ID.fullmatch(done["model_id"])
    assert f"it is your model {done['model_id']} (sums v1, revision 1)" in events[-1]["message"]
    assert model["id"] == done["model_id"]
    assert (model["name"], model["revision"], model["parent_model"]) == ("sums v1", 1, BASE)
    assert (model["base_model"], model["owned"], model["read_only"]) == (BASE, True, False)
    assert model["job_id"] == job["id"]
    assert model["sampler_path"] == "tinker://sums/sampler_weights/final"
    assert model["training_checkpoint"] == "tinker://sums/weights/final"
    assert (model["lora_rank"], model["method"], model["renderer"]) == (32, "sft", "qwen3")
    assert model["dataset"] == VALID["dataset"]
    assert model["training"] == {
        "learning_rate": get_training_model(BASE).default_learning_rate,  # type: ignore[union-attr]
        "lora_rank": 32,
    }
    assert model["sampling"] == {"temperature": 1.0, "top_p": 1.0, "max_tokens": 256}
    assert model["default_model"] is False
    assert model["created_at"].endswith("Z")


def test_a_job_without_a_name_names_its_model_after_the_base_and_day(
    api: Api, db: Database
) -> None:
    day = datetime.now(UTC).date().isoformat()
    first = trained_model(api, db, "bob", name=None)
    second = trained_model(api, db, "bob", name=None)
    assert first["name"] == f"Qwen3-8B-{day}"
    assert second["name"] == f"Qwen3-8B-{day}-2"


def test_the_list_holds_own_models_first_then_the_catalog(api: Api, db: Database) -> None:
    mine = trained_model(api, db, name="listed first")
    with api.client() as client:
        everything = client.get("/training/models", params={"limit": 100}).json()
        owned = client.get("/training/models", params={"kind": "owned", "limit": 100}).json()
        base = client.get("/training/models", params={"kind": "base", "limit": 100}).json()
        found = client.get("/training/models", params={"query": "listed first"}).json()
        catalog = client.get("/training/catalog", params={"limit": 100}).json()
    assert everything["models"][0]["id"] == mine["id"]
    assert all(m["owned"] for m in owned["models"])
    assert mine["id"] in [m["id"] for m in owned["models"]]
    assert everything["total"] == owned["total"] + base["total"]
    assert [m["id"] for m in base["models"]] == [m["tinker_id"] for m in catalog["models"]]
    assert all(m["read_only"] and m["revision"] == 0 for m in base["models"])
    assert [m["id"] for m in found["models"]] == [mine["id"]]
    qwen = next(m for m in base["models"] if m["id"] == BASE)
    assert (qwen["parent_model"], qwen["base_model"], qwen["job_id"]) == (None, BASE, None)
    assert qwen["training"]["lora_rank"] == 32
    # Paging runs across the two parts: the page after the caller's models starts the catalog.
    with api.client() as client:
        after = client.get("/training/models", params={"offset": owned["total"], "limit": 2}).json()
    assert [m["id"] for m in after["models"]] == [m["id"] for m in base["models"][:2]]


def test_a_base_model_reads_by_its_catalog_id_and_an_unknown_one_gets_suggestions(
    api: Api,
) -> None:
    with api.client() as client:
        base = client.get(f"/training/models/{BASE}")
        typo = client.get("/training/models/Qwen/Qwen3-8")
        unknown = client.get("/training/models/ft-000000000000000000000000")
    assert base.status_code == 200
    assert base.json()["read_only"] is True
    assert typo.status_code == 404
    assert "Did you mean" in typo.json()["detail"]
    assert envelope(unknown, 404, "not_found_error")["detail"] == (
        "Unknown model 'ft-000000000000000000000000': none of your models has that id "
        "(`dn train models list` shows them)"
    )


def test_owners_never_see_each_others_models(api: Api, db: Database) -> None:
    mine = trained_model(api, db, name="alice only")
    path = f"/training/models/{mine['id']}"
    with api.client("bob") as client:
        listed = client.get("/training/models", params={"kind": "owned", "limit": 100}).json()
        answers = [
            client.get(path),
            client.patch(path, json={"name": "taken"}),
            client.delete(path),
            client.post(f"{path}/sample", json={"prompt": "hi"}),
        ]
        job = create(client, {**VALID, "base_model": mine["id"]})
    assert mine["id"] not in [m["id"] for m in listed["models"]]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert job.status_code == 422
    assert job.json()["errors"][0]["type"] == "unknown_base_model"


def test_a_read_only_token_lists_and_reads_but_changes_nothing(api: Api, db: Database) -> None:
    mine = trained_model(api, db, name="read me")
    path = f"/training/models/{mine['id']}"
    with api.client("reader") as client:
        assert client.get(path).status_code == 200
        assert mine["id"] in [m["id"] for m in client.get("/training/models").json()["models"]]
        patched = client.patch(path, json={"name": "renamed"})
        deleted = client.delete(path)
    assert (patched.status_code, deleted.status_code) == (403, 403)
    with api.client() as client:
        assert client.get(path).json()["name"] == "read me"


def test_update_changes_only_what_is_given(api: Api, db: Database) -> None:
    first = trained_model(api, db, name="update a")
    second = trained_model(api, db, name="update b")
    with api.client() as client:
        path = f"/training/models/{first['id']}"
        named = client.patch(path, json={"name": "renamed a", "description": "adds numbers"})
        tuned = client.patch(path, json={"temperature": 0.5, "top_p": 0.9, "default_model": True})
        moved = client.patch(f"/training/models/{second['id']}", json={"default_model": True})
        cleared = client.patch(path, json={"description": None, "temperature": None})
        clash = client.patch(path, json={"name": "update b"})
        empty = client.patch(path, json={})
        base = client.patch(f"/training/models/{BASE}", json={"name": "mine now"})
        again = client.get(path).json()
    assert named.status_code == 200
    assert (named.json()["name"], named.json()["description"]) == ("renamed a", "adds numbers")
    assert tuned.json()["sampling"] == {"temperature": 0.5, "top_p": 0.9, "max_tokens": 256}
    assert tuned.json()["default_model"] is True
    assert moved.json()["default_model"] is True
    assert again["default_model"] is False  # at most one default per owner
    assert cleared.json()["description"] is None
    assert cleared.json()["sampling"]["temperature"] == 1.0
    assert cleared.json()["sampling"]["top_p"] == 0.9
    assert cleared.json()["last_modified"] >= first["last_modified"]
    assert clash.status_code == 409
    assert "already have a model named 'update b'" in clash.json()["detail"]
    assert empty.status_code == 422
    assert base.status_code == 403
    assert "catalog base model, which is read-only" in base.json()["detail"]


def test_a_job_trains_on_top_of_an_own_model_at_its_rank(api: Api, db: Database) -> None:
    parent = trained_model(api, db, name="gen one", hyperparameters={"lora_rank": 8})
    child = _job(api, name="gen two", base_model=parent["id"], hyperparameters={})
    assert child["base_model"] == parent["id"]
    assert child["hyperparameters"]["lora_rank"] == 8
    assert "lora_rank" in child["defaulted_hyperparameters"]
    complete(db, child["id"], run="gen-two")
    with api.client() as client:
        done = client.get(f"/training/jobs/{child['id']}").json()
        model = client.get(f"/training/models/{done['model_id']}").json()
        mismatch = create(
            client, {**VALID, "base_model": parent["id"], "hyperparameters": {"lora_rank": 16}}
        )
    assert (model["revision"], model["parent_model"], model["base_model"]) == (
        2,
        parent["id"],
        BASE,
    )
    assert mismatch.status_code == 422
    (error,) = mismatch.json()["errors"]
    assert error["type"] == "lora_rank_mismatch"
    assert error["msg"] == (
        f"lora_rank 16 differs from your model {parent['id']!r}'s rank 8: a job on it trains "
        "its adapter further, at its rank (leave lora_rank out)"
    )


def test_a_mistyped_model_id_suggests_the_callers_models(api: Api, db: Database) -> None:
    mine = trained_model(api, db, name="typo target")
    typo = mine["id"][:-1] + ("0" if mine["id"][-1] != "0" else "1")
    with api.client() as client:
        by_id = create(client, {**VALID, "base_model": typo})
        by_name = create(client, {**VALID, "base_model": "typo targt"})
    (error,) = by_id.json()["errors"]
    assert error["type"] == "unknown_base_model"
    assert error["msg"].startswith(f"Unknown base model {typo!r}: none of your models has that id")
    assert f"Did you mean one of: {mine['id']} (typo target)" in error["msg"]
    (named,) = by_name.json()["errors"]
    assert named["msg"].startswith(
        "Unknown base model 'typo targt': neither a catalog model nor one of yours. "
        f"Did you mean one of: {mine['id']} (your model 'typo target')"
    )


def test_a_model_in_use_cannot_be_deleted_until_its_jobs_end(api: Api, db: Database) -> None:
    parent = trained_model(api, db, name="in use")
    child = _job(api, base_model=parent["id"], name="on top")
    path = f"/training/models/{parent['id']}"
    with api.client() as client:
        refused = client.delete(path)
        client.post(f"/training/jobs/{child['id']}/cancel")
        deleted = client.delete(path)
        gone = client.get(path)
        maker = client.get(f"/training/jobs/{parent['job_id']}").json()
        retry = create(client, {**VALID, "base_model": parent["id"]})
    assert refused.status_code == 409
    assert refused.json()["type"] == "model_in_use"
    assert child["id"] in refused.json()["detail"]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert maker["model_id"] == parent["id"]  # the job keeps its history
    assert retry.json()["errors"][0]["type"] == "unknown_base_model"


def test_sampling_without_a_tinker_key_is_a_503_that_says_why(api: Api, db: Database) -> None:
    mine = trained_model(api, db, name="sample me")
    with api.client("reader") as client:
        answer = client.post(
            f"/training/models/{mine['id']}/sample",
            json={"messages": [{"role": "user", "content": "What is 2 plus 3?"}]},
        )
        both = client.post(f"/training/models/{BASE}/sample", json={"prompt": "a", "messages": []})
        neither = client.post(f"/training/models/{BASE}/sample", json={"n": 2})
        wrong_method = client.get(f"/training/models/{BASE}/sample")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert "no Tinker key (set TINKER_API_KEY" in answer.json()["detail"]
    assert both.status_code == neither.status_code == 422
    assert "give exactly one of messages or prompt" in neither.json()["detail"]
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_a_model_whose_root_is_retired_cannot_be_trained_or_sampled(
    api_before_june: Api, api_on_retirement_day: Api
) -> None:
    database = Database(api_before_june.env["DATABASE_URL"])
    try:
        model = trained_model(api_before_june, database, name="llama run")
    finally:
        database.dispose()
    # No model Tinker retires has a renderer, so no job can train one today: the row is moved
    # onto one, as a model made on a base that Tinker retires later would be.
    with api_before_june.engine.begin() as connection:
        connection.execute(
            update(table("training_models", column("id"), column("root_model")))
            .where(column("id") == model["id"])
            .values(root_model=RETIRING)
        )
    with api_on_retirement_day.client() as client:
        job = create(client, {**VALID, "base_model": model["id"]})
        sample = client.post(f"/training/models/{model['id']}/sample", json={"prompt": "hi"})
        listed = client.get(f"/training/models/{model['id']}")
    (error,) = job.json()["errors"]
    assert error["type"] == "retired_base_model"
    assert error["msg"] == (
        f"Your model {model['id']!r} (llama run) was trained from {RETIRING!r}, which Tinker "
        f"retired on {RETIREMENT_DAY}, and no adapter is served without its base model; train "
        "again on Qwen/Qwen3.5-9B-Base"
    )
    assert sample.status_code == 409
    assert sample.json()["detail"] == error["msg"]
    assert listed.status_code == 200  # still listed: its history and weights are the user's
