"""``dn train models`` against a scripted API, run as a user runs it (a real ``dn`` process).

What a user notices: the table and the readable block, exactly the fields a flag changes sent
(and null where a flag clears or resets), the prompt taken from the argument or stdin and sent
as a message or raw, the completion's text alone on stdout, every failure as one ``error:``
line with the exit code the other commands give, and a job on one of their models sent to the
API rather than refused by the embedded catalog.
"""

from __future__ import annotations

import json

import pytest

from .conftest import JOBS, MODELS, DnRunner, server_env
from .fake_api import OWN_MODEL_ID, FakeAPI, Reply, envelope, job_json, model_json, sample_json

OWN = f"{MODELS}/{OWN_MODEL_ID}"
SAMPLE = f"{OWN}/sample"
QWEN_ID = "Qwen/Qwen3-8B"


def _page(*models: dict[str, object], total: int | None = None, **page: int) -> dict[str, object]:
    return {"models": list(models), "total": len(models) if total is None else total,
            "limit": 20, "offset": 0, **page}  # fmt: skip


# --- list -------------------------------------------------------------------------------------


def test_list_shows_own_models_then_base_models(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = _page(model_json(default_model=True), model_json(QWEN_ID), total=40)
    fake_api.script("GET", MODELS, Reply(200, page))
    result = dn("train", "models", "list", env=server_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "revision", "base", "model", "parent", "created"]
    assert lines[1].split() == [OWN_MODEL_ID, "sums", "(default)", "1", QWEN_ID, QWEN_ID,
                                "2026-12-05", "10:00:00Z"]  # fmt: skip
    assert lines[2].split() == [QWEN_ID, "Qwen3", "8B", "0", QWEN_ID]
    assert lines[-1] == "showing 1-2 of 40 (--offset 2 shows the next)"
    assert fake_api.requests[0].query == {"limit": ["20"]}


@pytest.mark.parametrize(("flag", "kind"), [("--owned", "owned"), ("--base", "base")])
def test_list_filters_become_the_query(
    dn: DnRunner, fake_api: FakeAPI, flag: str, kind: str
) -> None:
    page = _page(model_json(), model_json(QWEN_ID), total=42, offset=40)
    fake_api.script("GET", MODELS, Reply(200, page))
    result = dn("train", "models", "list", flag, "--query", "sums", "--limit", "5",
                "--offset", "40", env=server_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].query == {
        "kind": [kind], "query": ["sums"], "limit": ["5"], "offset": ["40"]
    }  # fmt: skip
    assert result.stdout.splitlines()[-1] == "showing 41-42 of 42"


def test_list_footer_says_how_to_read_the_next_page(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", MODELS, Reply(200, _page(model_json(), total=9, offset=2)))
    result = dn("train", "models", "list", "--offset", "2", env=server_env(fake_api))
    assert result.stdout.splitlines()[-1] == "showing 3-3 of 9 (--offset 3 shows the next)"


def test_list_takes_one_kind_only(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn("train", "models", "list", "--owned", "--base", env=server_env(fake_api))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "not allowed with argument --owned" in result.stderr
    assert fake_api.requests == []


def test_list_json_is_the_servers_answer(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = _page(model_json(), model_json(QWEN_ID))
    fake_api.script("GET", MODELS, Reply(200, page))
    result = dn("train", "models", "list", "--json", env=server_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == page


def test_list_without_own_models_says_where_they_come_from(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", MODELS, Reply(200, _page()))
    result = dn("train", "models", "list", "--owned", env=server_env(fake_api))
    assert result.returncode == 0
    assert result.stdout == (
        "No models of your own; every completed job makes one (dn train sft|rl), and "
        "`dn train models list --base` lists the catalog's.\n"
    )


# --- get ---------------------------------------------------------------------------------------


def _block(stdout: str) -> dict[str, str]:
    """A readable block (``label  value`` a line) as a dict."""
    pairs = (line.split("  ", 1) for line in stdout.splitlines())
    return {label.strip(): value.strip() for label, value in pairs}


def test_get_shows_what_made_the_model(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", OWN, Reply(200, model_json(default_model=True)))
    result = dn("train", "models", "get", OWN_MODEL_ID, env=server_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert _block(result.stdout) == {
        "id": OWN_MODEL_ID,
        "name": "sums (your default model)",
        "description": "adds two numbers",
        "kind": "your model, revision 1",
        "base model": QWEN_ID,
        "trained from": QWEN_ID,
        "renderer": "qwen3",
        "context": "32,768 tokens",
        "sampling": "temperature 1, top_p 1, max_tokens 256 (defaults)",
        "training": "learning rate 0.000472979, LoRA rank 32 (defaults of a job on it)",
        "job": "job-1",
        "method": "sft",
        "dataset": "ds-0123456789abcdef01234567",
        "trained tokens": "3,702",
        "lora rank": "32",
        "sampler path": "tinker://run-1/sampler_weights/final",
        "checkpoint": "tinker://run-1/weights/final",
        "created": "2026-12-05 10:00:00Z",
        "last modified": "2026-12-05 11:30:00Z",
    }


def test_get_a_catalog_model_keeps_the_slash_of_its_id(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", f"{MODELS}/{QWEN_ID}", Reply(200, model_json(QWEN_ID)))
    result = dn("train", "models", "get", QWEN_ID, env=server_env(fake_api))
    assert result.returncode == 0, result.stderr
    shown = _block(result.stdout)
    assert shown["kind"] == "catalog base model (read-only; train on it to make one of your own)"
    assert "job" not in shown
    assert "created" not in shown
    as_json = dn("train", "models", "get", QWEN_ID, "--json", env=server_env(fake_api))
    assert json.loads(as_json.stdout) == model_json(QWEN_ID)
    assert [seen.path for seen in fake_api.requests] == [f"{MODELS}/{QWEN_ID}"] * 2


def test_get_json_is_the_servers_answer(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", OWN, Reply(200, model_json()))
    result = dn("train", "models", "get", OWN_MODEL_ID, "--json", env=server_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == model_json()


def test_get_unknown_is_one_line_exit_1(dn: DnRunner, fake_api: FakeAPI) -> None:
    detail = (
        "Unknown model 'ft-000000000000000000000000': none of your models has that id "
        "(`dn train models list` shows them)"
    )
    fake_api.script("GET", f"{MODELS}/ft-000000000000000000000000",
                    envelope(404, detail, "not_found"))  # fmt: skip
    result = dn("train", "models", "get", "ft-000000000000000000000000", env=server_env(fake_api))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {detail}\n")


def test_empty_id_is_refused_before_any_request(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn("train", "models", "get", " ", env=server_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.startswith("error: the model id must not be empty")
    assert fake_api.requests == []


# --- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "body"),
    [
        (["--name", "sums-v2", "--temperature", "0.7"], {"name": "sums-v2", "temperature": 0.7}),
        (["--description", "adds"], {"description": "adds"}),
        (["--clear-description"], {"description": None}),
        (["--default"], {"default_model": True}),
        (["--no-default", "--top-p", "0.9"], {"default_model": False, "top_p": 0.9}),
        (["--reset-sampling"], {"temperature": None, "top_p": None}),
    ],
)
def test_update_sends_only_what_the_flags_change(
    dn: DnRunner, fake_api: FakeAPI, flags: list[str], body: dict[str, object]
) -> None:
    fake_api.script("PATCH", OWN, Reply(200, model_json(name="sums-v2")))
    result = dn("train", "models", "update", OWN_MODEL_ID, *flags, env=server_env(fake_api))
    assert result.returncode == 0, result.stderr
    (seen,) = fake_api.requests
    assert (seen.method, seen.path, seen.body) == ("PATCH", OWN, body)
    lines = result.stdout.splitlines()
    assert lines[0] == f"updated model {OWN_MODEL_ID}"
    assert _block("\n".join(lines[1:]))["name"] == "sums-v2"


def test_update_json_is_the_servers_answer(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("PATCH", OWN, Reply(200, model_json(description=None)))
    result = dn("train", "models", "update", OWN_MODEL_ID, "--clear-description", "--json",
                env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == model_json(description=None)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        ([], "error: nothing to change: give --name, --description, "),
        (["--reset-sampling", "--temperature", "0.5"], "error: --reset-sampling restores "),
        (["--description", "x", "--clear-description"], "error: dn train models update: "),
        (["--temperature", "0"], "error: dn train models update: argument --temperature: "),
    ],
)
def test_update_refuses_what_makes_no_change_before_any_request(
    dn: DnRunner, fake_api: FakeAPI, flags: list[str], said: str
) -> None:
    result = dn("train", "models", "update", OWN_MODEL_ID, *flags, env=server_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.startswith(said)
    assert fake_api.requests == []


#: The API's words for an update of a catalog model.
READ_ONLY = (
    "'Qwen/Qwen3-8B' is a catalog base model, which is read-only; train on it to make a model "
    "of your own"
)


@pytest.mark.parametrize(
    "refusal",
    [
        envelope(409, "You already have a model named 'sums'; pick another name", "conflict"),
        envelope(403, READ_ONLY, "permission_denied"),
    ],
    ids=["name-taken", "read-only"],
)
def test_update_refused_is_one_line_exit_1(dn: DnRunner, fake_api: FakeAPI, refusal: Reply) -> None:
    fake_api.script("PATCH", OWN, refusal)
    result = dn("train", "models", "update", OWN_MODEL_ID, "--name", "sums",
                env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {refusal.body['detail']}\n"


# --- delete ------------------------------------------------------------------------------------


def test_delete_asks_and_refuses_without_a_terminal(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("DELETE", OWN, Reply(204))
    refused = dn("train", "models", "delete", OWN_MODEL_ID, env=server_env(fake_api), input="")
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert fake_api.requests == []
    deleted = dn("train", "models", "delete", OWN_MODEL_ID, "--yes", env=server_env(fake_api))
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted model {OWN_MODEL_ID}\n")
    as_json = dn("train", "models", "delete", OWN_MODEL_ID, "-y", "--json",
                 env=server_env(fake_api))  # fmt: skip
    assert json.loads(as_json.stdout) == {"id": OWN_MODEL_ID, "deleted": True}
    assert len(fake_api.seen("DELETE", OWN)) == 2


def test_delete_in_use_is_one_line_exit_1_and_not_retried(dn: DnRunner, fake_api: FakeAPI) -> None:
    detail = (
        f"Model '{OWN_MODEL_ID}' cannot be deleted: queued or running jobs train on it (job-2); "
        "cancel them or wait for them to finish"
    )
    fake_api.script("DELETE", OWN, envelope(409, detail, "model_in_use"))
    result = dn("train", "models", "delete", OWN_MODEL_ID, "--yes", env=server_env(fake_api))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {detail}\n")
    assert len(fake_api.requests) == 1


# --- sample ------------------------------------------------------------------------------------


def test_sample_sends_the_prompt_as_a_user_message_and_prints_the_text(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("POST", SAMPLE, Reply(200, sample_json("2 plus 3 is 5.")))
    result = dn("train", "models", "sample", OWN_MODEL_ID, "What is 2 plus 3?",
                env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "2 plus 3 is 5.\n", "")
    (seen,) = fake_api.requests
    assert seen.body == {"messages": [{"role": "user", "content": "What is 2 plus 3?"}]}


def test_sample_a_catalog_model_keeps_the_slash_of_its_id(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("POST", f"{MODELS}/{QWEN_ID}/sample", Reply(200, sample_json(model=QWEN_ID)))
    result = dn("train", "models", "sample", QWEN_ID, "2+3?", env=server_env(fake_api))
    assert (result.returncode, result.stdout) == (0, "5\n")


@pytest.mark.parametrize("dash", [[], ["-"]], ids=["omitted", "dash"])
def test_sample_reads_the_prompt_from_stdin_without_its_final_line_break(
    dn: DnRunner, fake_api: FakeAPI, dash: list[str]
) -> None:
    fake_api.script("POST", SAMPLE, Reply(200, sample_json()))
    result = dn("train", "models", "sample", OWN_MODEL_ID, *dash, "--system", "Answer briefly.",
                env=server_env(fake_api), input="First line\nWhat is 2 plus 3?\n")  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "5\n"), result.stderr
    assert fake_api.requests[0].body == {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "First line\nWhat is 2 plus 3?"},
        ]
    }


def test_sample_raw_sends_a_prompt_and_every_setting(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("POST", SAMPLE, Reply(200, sample_json(" 5", seed=7)))
    result = dn("train", "models", "sample", OWN_MODEL_ID, "2 + 3 =", "--raw",
                "--max-tokens", "64", "--temperature", "0.5", "--top-p", "0.9", "-n", "1",
                "--stop", "\n\n", "--stop", "END", "--seed", "7",
                env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stdout) == (0, " 5\n"), result.stderr
    assert fake_api.requests[0].body == {
        "prompt": "2 + 3 =",
        "max_tokens": 64,
        "temperature": 0.5,
        "top_p": 0.9,
        "n": 1,
        "stop": ["\n\n", "END"],
        "seed": 7,
    }


def test_sample_separates_several_completions_and_notes_those_cut_short(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    answer = sample_json("5", "five")
    answer["completions"][1]["finish_reason"] = "length"
    fake_api.script("POST", SAMPLE, Reply(200, answer))
    result = dn("train", "models", "sample", OWN_MODEL_ID, "2+3?", "--n", "2",
                env=server_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "--- completion 1 of 2 ---\n5\n--- completion 2 of 2 ---\nfive\n"
    assert result.stderr == (
        "note: completion 2 reached max_tokens (256) before it ended; --max-tokens allows more\n"
    )
    assert fake_api.requests[0].body["n"] == 2


def test_sample_shows_control_characters_as_escapes_on_a_terminal_only(
    dn: DnRunner, dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("POST", SAMPLE, Reply(200, sample_json("evil\x1b[2J\tline\nnext\u202e")))
    args = ("train", "models", "sample", OWN_MODEL_ID, "2+3?")
    shown = dn_on_terminal(*args, env=server_env(fake_api))
    assert (shown.returncode, shown.stdout) == (0, "evil\\x1b[2J\tline\nnext\\u202e\n")
    piped = dn(*args, env=server_env(fake_api))
    assert (piped.returncode, piped.stdout) == (0, "evil\x1b[2J\tline\nnext\u202e\n")


def test_sample_json_is_the_servers_answer(dn: DnRunner, fake_api: FakeAPI) -> None:
    answer = sample_json("5", "five", seed=3)
    fake_api.script("POST", SAMPLE, Reply(200, answer))
    result = dn("train", "models", "sample", OWN_MODEL_ID, "2+3?", "-n", "2", "--seed", "3",
                "--json", env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == answer


def test_sample_tinker_down_is_one_line_exit_1_and_not_retried(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    detail = "Tinker is unavailable: connection refused; retry after 30 s"
    down = envelope(503, detail, "service_unavailable_error")
    down.headers["Retry-After"] = "30"
    fake_api.script("POST", SAMPLE, down)
    result = dn("train", "models", "sample", OWN_MODEL_ID, "2+3?", env=server_env(fake_api))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {detail}\n")
    assert len(fake_api.requests) == 1  # no wait, no second sample


#: A prompt with its max_tokens too long for the model's context, in the API's words.
NO_ROOM = "max_tokens 4,096 leaves no room for a prompt in 'Qwen/Qwen3-8B''s context"


@pytest.mark.parametrize(
    "refusal",
    [
        envelope(422, NO_ROOM, "validation_error",
                 [{"loc": ["body", "max_tokens"], "msg": NO_ROOM, "type": "max_tokens_too_large"}]),
        envelope(409, "'Qwen/Qwen3-8B' retired on 2026-06-12: its models can no longer be "
                 "sampled", "conflict"),
        envelope(502, "Tinker refused: unknown checkpoint", "sampling_failed"),
    ],
    ids=["422", "409-retired", "502"],
)  # fmt: skip
def test_sample_refused_is_one_line_exit_1(dn: DnRunner, fake_api: FakeAPI, refusal: Reply) -> None:
    fake_api.script("POST", SAMPLE, refusal)
    result = dn("train", "models", "sample", OWN_MODEL_ID, "2+3?", "--max-tokens", "4096",
                env=server_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {refusal.body['detail']}\n"
    assert len(fake_api.requests) == 1


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (["2+3?", "--raw", "--system", "Be brief."], None, "error: --system adds a message"),
        ([], "\n", "error: the prompt is empty\n"),
        (["-"], "", "error: the prompt is empty\n"),
        (["2+3?", *["--stop", "x"] * 5], None, "error: --stop: at most 4 stop texts, got 5\n"),
        (["2+3?", "--stop", "y" * 65], None, "error: dn train models sample: argument --stop: "),
        (["2+3?", "--max-tokens", "4097"], None, "error: dn train models sample: argument "),
        (["2+3?", "-n", "9"], None, "error: dn train models sample: argument -n/--n: must be "),
    ],
)
def test_sample_refuses_what_the_api_would_before_any_request(
    dn: DnRunner, fake_api: FakeAPI, args: list[str], stdin: str | None, said: str
) -> None:
    result = dn("train", "models", "sample", OWN_MODEL_ID, *args, env=server_env(fake_api),
                input=stdin)  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(said)
    assert len(result.stderr.splitlines()) == 1
    assert fake_api.requests == []


# --- a job on one of your models ---------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["create", "dry-run"])
def test_sft_on_your_model_is_sent_to_the_api_unchecked_here(
    dn: DnRunner, fake_api: FakeAPI, dry_run: list[str]
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-2", base_model=OWN_MODEL_ID)))
    fake_api.script("POST", JOBS + "/validate", Reply(200, {"valid": True, "errors": []}))
    result = dn("train", "sft", "--model", OWN_MODEL_ID, "--dataset", "ds-1", *dry_run,
                env=server_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (seen,) = fake_api.requests
    assert seen.body["base_model"] == OWN_MODEL_ID
    if not dry_run:
        assert result.stdout == "job-2\n"


def test_unknown_model_that_is_not_yours_is_still_refused_here(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8", "--dataset", "ds-1",
                env=server_env(fake_api))  # fmt: skip
    assert result.returncode == 2
    assert fake_api.requests == []


def test_the_model_a_job_made_is_shown_with_the_job(dn: DnRunner, fake_api: FakeAPI) -> None:
    done = job_json(status="completed", model_id=OWN_MODEL_ID)
    fake_api.script("GET", f"{JOBS}/job-1", Reply(200, done))
    result = dn("train", "jobs", "get", "job-1", env=server_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert f"trained model    {OWN_MODEL_ID} (dn train models get {OWN_MODEL_ID})" in (
        result.stdout.splitlines()
    )
