"""Request heads and framing, sent as a hostile client would, on raw sockets to a real server.

- **Smuggling.** A request with both ``Content-Length`` and ``Transfer-Encoding`` (either order),
  or with a ``Transfer-Encoding`` given twice or disguised, is answered 400 in the envelope and
  its connection closed: whatever followed it on the connection (the bytes a front proxy framed
  as its body, here a job creation) never runs.
- **Head size.** The documented 16 KiB bound on the request line and headers holds however the
  head arrives: in one write or in many small ones (431, connection closed); so does the bound on
  the number of header fields. A head under both bounds is served.

Heads are parsed the same way whatever the database, so one backend (SQLite) suffices here.
"""

from __future__ import annotations

import json

import pytest

from .conftest import GRADER, PREFIX, Api, raw_answers

pytestmark = pytest.mark.parametrize("api", ["sqlite"], indirect=True)

#: The documented limits (DREADNODE_API_MAX_HEADER_BYTES, DREADNODE_API_MAX_HEADER_FIELDS).
MAX_HEAD_BYTES = 16 * 1024
MAX_FIELDS = 100
#: A job the server would accept: created if a smuggled request ever ran.
JOB = {
    "base_model": "Qwen/Qwen3-8B",
    "method": "rl",
    "dataset": "s3://bucket/prompts.jsonl",
    "grader": GRADER,
}


def _smuggled_job(api: Api) -> bytes:
    """A whole job-creating request, with alice's token, to hide behind another request."""
    body = json.dumps(JOB).encode()
    return (
        f"POST {PREFIX}/training/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {api.tokens['alice']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _carrier(framing: list[str], body: bytes) -> bytes:
    head = [f"POST {PREFIX}/training/jobs/validate HTTP/1.1", "Host: 127.0.0.1", *framing]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


#: Framing headers for a request whose chunked body is empty but whose Content-Length covers the
#: smuggled request after it: the classic CL.TE pair in both orders, and TE disguised.
AMBIGUOUS = {
    "cl-then-te": ["Content-Length: {length}", "Transfer-Encoding: chunked"],
    "te-then-cl": ["Transfer-Encoding: chunked", "Content-Length: {length}"],
    "te-twice": ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
    "te-list": ["Transfer-Encoding: chunked, chunked"],
    "te-gzip-chunked": ["Transfer-Encoding: gzip, chunked", "Content-Length: {length}"],
    "te-space-before-colon": ["Transfer-Encoding : chunked", "Content-Length: {length}"],
    "te-obs-fold": ["Transfer-Encoding: x", " chunked", "Content-Length: {length}"],
    "te-vertical-tab": ["Transfer-Encoding:\x0bchunked", "Content-Length: {length}"],
    "te-uppercase-with-cl": ["TRANSFER-ENCODING: CHUNKED", "Content-Length: {length}"],
}


@pytest.mark.parametrize("framing", list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
@pytest.mark.parametrize("delivery", ["one-write", "pipelined-after"])
def test_ambiguous_framing_is_400_closed_and_nothing_behind_it_runs(
    api: Api, framing: list[str], delivery: str
) -> None:
    smuggled = _smuggled_job(api)
    chunked_body = b"0\r\n\r\n"
    headers = [line.format(length=len(chunked_body) + len(smuggled)) for line in framing]
    carrier = _carrier(headers, chunked_body)
    before = api.count("jobs")
    if delivery == "one-write":
        answers, closed = raw_answers(api, carrier + smuggled)
    else:  # the smuggled request as a second write, once the first is in
        answers, closed = raw_answers(api, carrier, smuggled)
    assert closed
    assert len(answers) == 1, answers  # the request behind it got no answer: it never ran
    status, head, body = answers[0]
    assert (status, head["connection"], head["content-type"]) == (400, "close", "application/json")
    assert set(body) == {"code", "detail", "type", "errors"}
    assert (body["code"], body["type"]) == (400, "bad_request_error")
    assert api.count("jobs") == before


def test_content_length_and_transfer_encoding_is_named_in_the_answer(api: Api) -> None:
    carrier = _carrier(["Content-Length: 5", "Transfer-Encoding: chunked"], b"0\r\n\r\n")
    (answer,), _closed = raw_answers(api, carrier)
    assert answer[2]["detail"] == (
        "Request has both Content-Length and Transfer-Encoding: its framing is ambiguous "
        "(RFC 9112, section 6.1); send one of them"
    )


def test_chunked_or_sized_alone_is_served_and_the_connection_kept(api: Api) -> None:
    chunked = _carrier(["Transfer-Encoding: chunked"], b"0\r\n\r\n")
    health = b"GET " + PREFIX.encode() + b"/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answers, closed = raw_answers(api, chunked + health, timeout=2)
    # validate without a token is a 401; what matters is that the next request was served too
    assert [status for status, _, _ in answers] == [401, 200]
    assert not closed


def _head(size: int = 0, fields: int = 0) -> bytes:
    """A GET /health head of exactly ``size`` bytes (padded with one header), or with
    ``fields`` extra header fields."""
    start = f"GET {PREFIX}/health HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    extra = b"".join(b"X-F%d: 1\r\n" % index for index in range(fields))
    head = start + extra
    if size:
        padding = size - len(head) - len(b"X-Pad: \r\n\r\n")
        head += b"X-Pad: " + b"a" * padding + b"\r\n"
    return head + b"\r\n"


def _in_pieces(data: bytes, piece: int) -> list[bytes]:
    return [data[start : start + piece] for start in range(0, len(data), piece)]


@pytest.mark.parametrize("size", [17_000, 60_000, 120_000])
@pytest.mark.parametrize("delivery", ["one-write", "1-KiB-writes"])
def test_head_over_the_limit_is_431_however_it_arrives(api: Api, size: int, delivery: str) -> None:
    head = _head(size=size)
    writes = [head] if delivery == "one-write" else _in_pieces(head, 1024)
    answers, closed = raw_answers(api, *writes)
    assert closed
    assert len(answers) == 1, answers
    status, headers, body = answers[0]
    assert (status, headers["connection"], body["type"]) == (
        431,
        "close",
        "request_header_too_large_error",
    )
    assert body["code"] == 431
    assert "16,384 bytes" in body["detail"]


def test_head_at_the_limit_is_served_and_one_byte_more_is_431(api: Api) -> None:
    (at_limit,), _ = raw_answers(api, _head(size=MAX_HEAD_BYTES), timeout=2)
    assert at_limit[0] == 200
    (over,), closed = raw_answers(api, _head(size=MAX_HEAD_BYTES + 1))
    assert (over[0], closed) == (431, True)
    assert over[2]["detail"] == (
        f"Request line and headers are {MAX_HEAD_BYTES + 1:,} bytes; the limit is 16,384 bytes"
    )


@pytest.mark.parametrize("fields", [MAX_FIELDS + 1, 1_000, 5_000])
@pytest.mark.parametrize("delivery", ["one-write", "1-KiB-writes"])
def test_too_many_header_fields_is_431(api: Api, fields: int, delivery: str) -> None:
    head = _head(fields=fields)
    writes = [head] if delivery == "one-write" else _in_pieces(head, 1024)
    (answer,), closed = raw_answers(api, *writes)
    status, _headers, body = answer
    assert (status, body["type"], closed) == (431, "request_header_too_large_error", True)
    if len(head) <= MAX_HEAD_BYTES:  # else the size limit speaks first
        assert body["detail"] == f"Request has {fields + 1:,} header fields; the limit is 100"


def test_head_with_the_most_fields_allowed_is_served(api: Api) -> None:
    (answer,), _ = raw_answers(api, _head(fields=MAX_FIELDS - 1), timeout=2)
    assert answer[0] == 200


def test_oversized_head_on_a_kept_connection_is_refused_after_the_good_request(api: Api) -> None:
    answers, closed = raw_answers(api, _head() + _head(size=20_000))
    assert [status for status, _, _ in answers] == [200, 431]
    assert closed
