"""Live prices: the catalog carries Tinker's published rates, fetched from a price list that a
real HTTP server on loopback serves in Tinker's format, and no answer ever waits for that list.

Each test owns its price server (what it answers can change mid-test: a new list, a 500, a hang)
and an API server (SQLite: prices do not touch the database) that fetches from it with a one
second time-to-live, so a refresh is due at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.training.prices import LivePrice, PriceListError, parse_price_list

from .conftest import GOOD, PEFT, PEFT_BASE, QWEN, Api, PriceServer, running_api


def _entry(api: Api, tinker_id: str) -> httpx.Response:
    with api.client() as client:
        answer = client.get(f"/training/catalog/{tinker_id}")
    assert answer.status_code == 200, answer.text
    return answer


def _until(what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while (value := check()) is None or value is False:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return value


def _price(api: Api, tinker_id: str) -> dict[str, Any] | None:
    price: dict[str, Any] | None = _entry(api, tinker_id).json()["price"]
    return price


def test_catalog_carries_each_exact_ids_live_price_with_its_date_and_source(
    priced: Api, price_server: PriceServer
) -> None:
    price = _until("the price list", lambda: _price(priced, QWEN))
    assert {k: price[k] for k in ("prefill", "cached_prefill", "sample", "train", "note")} == {
        "prefill": 0.13, "cached_prefill": 0.03, "sample": 0.40, "train": 0.40, "note": None
    }  # fmt: skip
    assert price["source"] == price_server.url
    assert price["price_as_of"].endswith("Z")
    # A :peft: id is priced as itself, not as its base model.
    peft = _price(priced, PEFT)
    assert peft is not None
    assert (peft["train"], peft["cached_prefill"], peft["note"]) == (2.14, None, "extended context")
    assert _price(priced, PEFT_BASE)["train"] == 1.07  # type: ignore[index]
    # The list, the page and the entry agree; the catalog's own confirmed pricing stays apart.
    with priced.client() as client:
        page = client.get("/training/catalog", params={"query": "Qwen3-8B"}).json()
    listed = next(m for m in page["models"] if m["tinker_id"] == QWEN)
    assert listed["price"] == price
    assert listed["pricing"] is None
    # Fetched with our own User-Agent (Tinker's docs site refuses urllib's default).
    assert price_server.user_agents[0].startswith("dreadnode-api/")


def test_an_id_the_list_does_not_name_has_no_price(priced: Api) -> None:
    _until("the price list", lambda: _price(priced, QWEN))
    assert _price(priced, "Qwen/Qwen3.5-9B-Base") is None


def test_an_entry_with_a_malformed_amount_is_left_out_and_the_rest_stands(
    priced: Api, price_server: PriceServer
) -> None:
    bad = [{**GOOD[0], "train": "0.40"}, GOOD[1], {**GOOD[2], "sample": "$one"}]
    _until("the first list", lambda: _price(priced, QWEN))
    price_server.serve(bad)
    _until("the list with bad entries", lambda: _price(priced, QWEN) is None)
    assert _price(priced, PEFT) is None
    assert _price(priced, PEFT_BASE)["train"] == 1.07  # type: ignore[index]
    assert priced.server is not None
    log = priced.server.log_text()
    assert "price list entry left out: Qwen/Qwen3-8B: train is '0.40', not an amount" in log


def test_a_failed_refresh_keeps_the_last_good_copy(priced: Api, price_server: PriceServer) -> None:
    first = _until("the price list", lambda: _price(priced, QWEN))
    price_server.serve({"error": "boom"}, status=500)
    asked = price_server.requests
    # The copy is a second old: the next reads start a refresh, which fails.
    _until("a refresh", lambda: _price(priced, QWEN) and price_server.requests > asked)
    time.sleep(0.5)  # the failed refresh has had time to land, if it were to replace anything
    assert _price(priced, QWEN) == first
    assert priced.server is not None
    assert "price list not refreshed" in priced.server.log_text()


def test_a_new_list_replaces_the_price_and_the_etag(priced: Api, price_server: PriceServer) -> None:
    _until("the price list", lambda: _price(priced, QWEN))
    before = _entry(priced, QWEN)
    price_server.serve([{**GOOD[0], "train": "$0.55"}])
    after = _until("the new price", lambda: (r := _entry(priced, QWEN)).json()["price"]["train"]
                   == 0.55 and r)  # fmt: skip
    assert after.headers["ETag"] != before.headers["ETag"]
    with priced.client(**{"If-None-Match": before.headers["ETag"]}) as client:
        assert client.get(f"/training/catalog/{QWEN}").status_code == 200


def test_a_hung_price_list_never_holds_up_an_answer(
    price_server: PriceServer, tmp_path: Path
) -> None:
    price_server.hang = True
    with running_api(
        "sqlite",
        tmp_path,
        DREADNODE_API_PRICE_LIST_URL=price_server.url,
        DREADNODE_API_PRICE_LIST_TIMEOUT_SECONDS="60",
    ) as api:
        _until("the fetch to start", lambda: price_server.requests > 0)
        # Answered while the fetch hangs, with no price rather than a wait (the client's
        # timeout, 30 s, is far shorter than the fetch's).
        assert _price(api, QWEN) is None
        body = {"base_model": QWEN, "method": "sft", "dataset": "s3://b/train.jsonl"}
        with api.client() as client:
            validated = client.post("/training/jobs/validate", json=body)
            created = client.post("/training/jobs", json=body)
            capped = client.post("/training/jobs", json={**body, "max_cost_usd": 5.0})
        assert validated.status_code == 200, validated.text
        assert created.status_code == 201, created.text
        # A job is answered at once; a cap is refused, since no price could hold the job to it.
        assert created.json()["cost_estimate"]["train_usd_per_million"] is None
        (error,) = capped.json()["errors"]
        assert error["msg"] == (
            "max_cost_usd $5.00 cannot be held to: Tinker's price list has not arrived yet (the "
            "server fetches it in the background), and the worker tracks a job's spend at its "
            "train price"
        )


# --- reading the list ---------------------------------------------------------------------


def test_amounts_are_read_exactly_and_bad_entries_are_named() -> None:
    prices, refused = parse_price_list(
        [
            GOOD[0],
            {"tinker_id": "a/b", "prefill": "$1", "sample": "$2.5", "train": "$1.875"},
            {"tinker_id": "a/b", "prefill": "$9", "sample": "$9", "train": "$9"},
            {"tinker_id": "c/d", "prefill": "$1", "sample": "$1"},
            {"prefill": "$1"},
            ["not", "an", "object"],
            {"tinker_id": "e/f", "prefill": "$-1", "sample": "$1", "train": "$1"},
        ]
    )
    assert prices["a/b"] == LivePrice("a/b", Decimal("1"), Decimal("2.5"), Decimal("1.875"))
    assert prices[QWEN].cached_prefill == Decimal("0.03")
    assert sorted(prices) == [QWEN, "a/b"]
    assert refused == [
        "a/b: listed again; the first entry stands",
        "c/d: train is None, not an amount like '$1.87'",
        "an entry has no tinker_id",
        "an entry is a list, not an object",
        "e/f: prefill is '$-1', not an amount like '$1.87'",
    ]


@pytest.mark.parametrize("payload", [{"models": []}, "prices", None])
def test_a_list_that_is_not_a_list_is_refused_whole(payload: Any) -> None:
    with pytest.raises(PriceListError, match="not a list"):
        parse_price_list(payload)
