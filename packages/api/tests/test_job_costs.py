"""A job's tokens and price before it runs, through a real server that reads Tinker's price list
from a loopback server in Tinker's format: the exact tokens of a counted dataset (written here as
a worker writes them), the estimate with its price's date and source, each unknown with its
reason, and a budget refused at creation when the estimate is over it, with nothing stored."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import update

from app.models import Dataset

from .conftest import GRADER, QWEN, Api, PriceServer, envelope
from .test_datasets import chat_file, uploaded, wait_for

#: The counted figures of the datasets here under Qwen3-8B's renderer (GOOD's train: $0.40/M).
TOKENS_PER_EPOCH = 12_345
TRAIN = 0.40
SFT = {"base_model": QWEN, "method": "sft"}
#: A model the price list does not name.
GPT_OSS = "openai/gpt-oss-20b"


def counted(api: Api, rows: int = 7, tokens: int = TOKENS_PER_EPOCH) -> str:
    """An uploaded chat dataset whose tokens a worker has counted."""
    dataset_id: str = uploaded(api, chat_file(rows=rows))["id"]
    count_as_a_worker_would(api, dataset_id, tokens)
    return dataset_id


def count_as_a_worker_would(api: Api, dataset_id: str, tokens: int = TOKENS_PER_EPOCH) -> None:
    """Write a dataset's counts as a worker writes them (the workers' own counting is tested
    with real workers in tests/worker)."""
    counts = [
        {"renderer": renderer, "models": [model], "tokens_processed": tokens,
         "tokens_trained": tokens // 3, "longest_row_tokens": 40, "longest_row_line": 1,
         "error": None}
        for renderer, model in (("qwen3", QWEN), ("gpt_oss_no_sysprompt", GPT_OSS))
    ]  # fmt: skip
    with api.engine.begin() as connection:
        connection.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(token_counts_status="ready", token_counts=counts)
        )


def priced_api(api: Api) -> Api:
    """``api`` once it has read the price list (it fetches it in the background)."""

    def known() -> bool:
        with api.client() as client:
            return client.get(f"/training/catalog/{QWEN}").json()["price"] is not None

    assert wait_for(known, seconds=15), "the API never read the price list"
    return api


def validate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    with api.client() as client:
        answer = client.post("/training/jobs/validate", json=body)
    assert answer.status_code == 200, answer.text
    verdict: dict[str, Any] = answer.json()
    return verdict


def test_a_counted_dataset_is_priced_exactly_with_the_lists_date_and_source(
    pricing: Api, shared_prices: PriceServer
) -> None:
    api = priced_api(pricing)
    body = {**SFT, "dataset": counted(api), "hyperparameters": {"epochs": 2}}
    verdict = validate(api, body)
    with api.client() as client:
        created = client.post("/training/jobs", json=body)
        read = client.get(f"/training/jobs/{created.json()['id']}").json()
    assert created.status_code == 201, created.text
    for answer in (verdict, created.json(), read):
        assert (answer["tokens_per_epoch"], answer["total_tokens"]) == (12_345, 24_690)
        assert answer["estimated_cost_usd"] == pytest.approx(24_690 * TRAIN / 1e6)
        basis = answer["cost_estimate"]
        assert (basis["train_usd_per_million"], basis["reason"]) == (TRAIN, None)
        assert basis["price_source"] == shared_prices.url
        assert basis["price_as_of"].endswith("Z")
    # Nothing sent yet: nothing spent, at the rate the job was priced at.
    assert (read["processed_tokens"], read["spent_usd"], read["max_cost_usd"]) == (0, 0.0, None)


def test_a_run_cut_short_by_steps_is_priced_at_the_share_it_covers(pricing: Api) -> None:
    api = priced_api(pricing)
    # 7 rows at batch size 2: steps of 2, 2, 2 and 1 rows an epoch, 8 steps over 2 epochs.
    dataset = counted(api, rows=7)
    hyperparameters = {"epochs": 2, "batch_size": 2, "steps": 5}
    verdict = validate(api, {**SFT, "dataset": dataset, "hyperparameters": hyperparameters})
    # 5 steps: the first epoch's 7 rows, then 2: 9 rows at the mean tokens per row.
    assert verdict["total_tokens"] == math.ceil(12_345 * 9 / 7)
    full = validate(api, {**SFT, "dataset": dataset, "hyperparameters": {"steps": 100}})
    assert full["total_tokens"] == 12_345  # a cap beyond the run's end changes nothing


def test_a_job_over_its_budget_is_refused_with_the_estimate_and_nothing_stored(
    pricing: Api,
) -> None:
    api = priced_api(pricing)
    body = {**SFT, "dataset": counted(api), "max_cost_usd": 0.004}
    before = api.count("jobs")
    with api.client() as client:
        response = client.post("/training/jobs", json=body)
    (error,) = envelope(response, 422, "validation_error")["errors"]
    day = validate(api, body)["cost_estimate"]["price_as_of"][:10]
    assert error == {
        "loc": ["body", "max_cost_usd"],
        "msg": f"The estimated cost, $0.004938 (12,345 tokens at $0.4 per million, Tinker's price "
        f"list of {day}), is over max_cost_usd $0.004",
        "type": "over_budget",
    }
    assert api.count("jobs") == before
    # Validation says the same, and still shows the estimate that refused it.
    verdict = validate(api, body)
    assert (verdict["valid"], verdict["errors"]) == (False, [error])
    assert verdict["estimated_cost_usd"] == pytest.approx(12_345 * TRAIN / 1e6)
    within = validate(api, {**body, "max_cost_usd": 0.005})
    assert (within["valid"], within["errors"]) == (True, [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {**SFT, "dataset": "s3://bucket/train.jsonl"},
            "the platform does not hold dataset 's3://bucket/train.jsonl', so its tokens are "
            "not known (upload it with `dn train datasets upload FILE` to have them counted)",
        ),
        (
            {
                "base_model": QWEN,
                "method": "rl",
                "dataset": "s3://bucket/prompts.jsonl",
                "grader": GRADER,
            },
            "an RL job's tokens depend on what the model samples, so they are known only as it "
            "runs",
        ),
        (
            {"base_model": GPT_OSS, "method": "sft", "dataset": "COUNTED"},
            "no price known for 'openai/gpt-oss-20b' in Tinker's price list",
        ),
        (
            {**SFT, "dataset": "PENDING"},
            "token counts pending: a worker is counting the dataset's tokens",
        ),
    ],
    ids=["uri", "rl", "unpriced-model", "pending"],
)
def test_an_unknown_cost_says_why(pricing: Api, body: dict[str, Any], reason: str) -> None:
    api = priced_api(pricing)
    if body["dataset"] == "COUNTED":
        body = {**body, "dataset": counted(api)}
    elif body["dataset"] == "PENDING":
        body = {**body, "dataset": uploaded(api, chat_file())["id"]}
    verdict = validate(api, body)
    assert verdict["valid"], verdict["errors"]
    assert (verdict["estimated_cost_usd"], verdict["cost_estimate"]["reason"]) == (None, reason)


def test_a_cap_is_held_to_when_a_price_is_known_and_refused_when_none_is(
    pricing: Api,
) -> None:
    api = priced_api(pricing)
    pending = uploaded(api, chat_file())["id"]
    with api.client() as client:
        # Tokens not counted yet, but a price known: accepted, the worker holds the job to it.
        accepted = client.post("/training/jobs", json={**SFT, "dataset": pending,
                                                       "max_cost_usd": 1.0})  # fmt: skip
        unpriced = client.post(
            "/training/jobs",
            json={"base_model": GPT_OSS, "method": "sft", "dataset": pending,
                  "max_cost_usd": 1.0},
        )  # fmt: skip
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["max_cost_usd"], accepted.json()["spent_usd"]) == (1.0, 0.0)
    (error,) = envelope(unpriced, 422, "validation_error")["errors"]
    assert error["type"] == "budget_unenforceable"
    assert error["msg"] == (
        "max_cost_usd $1.00 cannot be held to: no price known for 'openai/gpt-oss-20b' in "
        "Tinker's price list, and the worker tracks a job's spend at its train price"
    )


@pytest.mark.parametrize("cap", [0, -1, 1e7, "1", True])
def test_a_malformed_cap_is_refused_by_its_field(api: Api, cap: Any) -> None:
    with api.client() as client:
        response = client.post(
            "/training/jobs", json={**SFT, "dataset": "s3://b/t.jsonl", "max_cost_usd": cap}
        )
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [error["loc"] for error in errors] == [["body", "max_cost_usd"]]


def test_a_server_reading_no_price_list_says_so(api: Api) -> None:
    dataset = uploaded(api, chat_file())["id"]
    with api.engine.begin() as connection:
        connection.execute(
            update(Dataset).where(Dataset.id == dataset).values(
                token_counts_status="ready",
                token_counts=[{"renderer": "qwen3", "models": [QWEN], "tokens_processed": 10}],
            )
        )  # fmt: skip
    verdict = validate(api, {**SFT, "dataset": dataset})
    assert verdict["tokens_per_epoch"] == 10
    assert verdict["cost_estimate"]["reason"] == "this server reads no price list"


def test_a_retry_of_a_created_job_is_its_answer_even_once_its_estimate_is_over_the_cap(
    pricing: Api,
) -> None:
    """The estimate moves with live data: a job created while its tokens were being counted is
    over its cap once they are in, and the retry of its creation must still get its answer."""
    api = priced_api(pricing)
    dataset = uploaded(api, chat_file(rows=7))["id"]
    body = {**SFT, "dataset": dataset, "max_cost_usd": 0.004}
    key = {"Idempotency-Key": "retry-after-the-count"}
    with api.client() as client:
        first = client.post("/training/jobs", json=body, headers=key)
    assert first.status_code == 201, first.text
    count_as_a_worker_would(api, dataset)
    with api.client() as client:
        retried = client.post("/training/jobs", json=body, headers=key)
        fresh = client.post("/training/jobs", json=body)
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (201, "true")
    assert retried.json() == first.json()
    (error,) = envelope(fresh, 422, "validation_error")["errors"]
    assert error["type"] == "over_budget"


def test_the_worker_prices_each_step_against_the_cap() -> None:
    from app.worker.train import _Budget

    spent = _Budget(cap=0.05, usd_per_million=100.0, sent=400)  # $0.04 so far
    assert spent.refuses(100) is None  # to $0.05: at the cap, not over it
    assert spent.refuses(101) == (
        "its next step sends 101 tokens, which would take its spend from $0.04 to $0.0501, "
        "over its max_cost_usd $0.05"
    )
    assert _Budget(cap=None, usd_per_million=100.0, sent=0).refuses(10**9) is None
    assert _Budget(cap=0.01, usd_per_million=None, sent=0).refuses(10**9) is None
