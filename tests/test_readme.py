"""The README's examples, run as written against a real server, so they cannot rot.

The examples are read from README.md itself; what this test asserts is what the README states,
in these forms (a README example that states nothing only has to succeed):

Console blocks (```console)
  ``$ `` starts a command; it goes on over the next lines while bash would (an open quote, a
  trailing backslash). Lines under it, up to the next command or a blank line, are its answer:
  ``...`` stands for any text, a line break for a space or nothing (long answers are wrapped),
  and the answer must match the whole output. A comment (`` # ...``) after the command or its
  answer may state more when it starts so: ``# exit N`` the exit code, ``# NNN`` (alone) an HTTP
  status, ``# stderr: TEXT`` what ``dn`` writes on stderr, ``# {"key": ...}`` the keys of a
  ``dn ... --json`` answer; anywhere in a curl command's comment, ``again: NNN`` is the status
  when the same command runs a second time, and a "quoted" value one its answer holds. Any
  other comment is prose (``# asks first (no: ..., exit 0)`` states nothing).

  Every ``curl`` command of "The API with curl" runs (curl exits 0, the status is the stated
  one, else 200; an error is the API's envelope); ``dn train catalog`` commands run wherever they
  are; any other ``dn`` command runs when the README states its outcome. Assignments
  (``TOKEN=...``, ``export ...``) run before each later command of their block.

Python blocks (```python)
  Each statement runs in turn in one namespace, as typed into a REPL. A comment after an
  expression (or alone on the next line) that starts like a Python value (a digit, a quote, a
  bracket, None...) states its repr; after a ``print(...)``, what it prints (several lines,
  e.g. from a loop, joined by ", "). A block that imports ``dreadnode.client`` runs against the
  server (``DREADNODE_SERVER_URL``/``DREADNODE_API_KEY``); any other runs with no server at all.

The README's placeholders stand for the live values: ``http://127.0.0.1:8000`` for the server,
``dn_...`` for its token, an id shown as ``5b0f2f0e-...`` for the id the answer really had (and
the same id in later commands), ``JOB_ID`` for a job that is already cancelled.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveAPI, console_script

README = Path(__file__).resolve().parents[1] / "README.md"
CURL_SECTION = "The API with curl"
#: The server and token the README's examples use (``nox -s serve``), replaced by the live ones.
README_SERVER = "http://127.0.0.1:8000"
README_TOKEN = "dn_..."
#: An id the README abbreviates: eight hex digits, then "...".
ID_PLACEHOLDER = re.compile(r"\b[0-9a-f]{8}-\.\.\.")
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ASSIGNMENT = re.compile(r"(export\s+)?[A-Za-z_][A-Za-z0-9_]*=")
VALUE_START = re.compile(r"""[-0-9'"\[{(]|None\b|True\b|False\b""")
TIMEOUT_SECONDS = 60


# --- reading the README ----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One ``$`` command of a console block, with what the README says of it."""

    text: str
    line: int
    section: str
    prelude: tuple[str, ...]
    answer: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        return self.text.split(maxsplit=1)[0]

    def stated(self, pattern: str) -> str | None:
        """The first group of ``pattern`` in a comment, or None when no comment says it."""
        for comment in self.comments:
            found = re.search(pattern, comment)
            if found:
                return found.group(1)
        return None

    def __str__(self) -> str:
        return f"README.md:{self.line}: $ {self.text}"


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, its first line's number, its text and section."""

    language: str
    line: int
    text: str
    section: str


def blocks(readme: str) -> Iterator[Block]:
    section, language, start = "", None, 0
    body: list[str] = []
    for number, line in enumerate(readme.splitlines(), start=1):
        if language is None and line.startswith("## "):
            section = line[3:].strip()
        elif language is None and line.startswith("```"):
            language, start, body = line[3:].strip(), number + 1, []
        elif language is not None and line.startswith("```"):
            yield Block(language, start, "\n".join(body), section)
            language = None
        elif language is not None:
            body.append(line)


def shell_comments(text: str) -> tuple[bool, list[str]]:
    """Whether bash would still be inside a quote at the end of ``text``, and its comments."""
    quote: str | None = None
    comments: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if quote is None and char == "#" and (index == 0 or text[index - 1].isspace()):
            end = text.find("\n", index)
            end = len(text) if end == -1 else end
            comments.append(text[index + 1 : end].strip())
            index = end
            continue
        if char == "\\" and quote != "'":
            index += 2
            continue
        if char in "'\"" and quote in (None, char):
            quote = None if quote == char else char
        index += 1
    return quote is not None, comments


def answer_comment(line: str) -> tuple[str, str | None]:
    """An answer line without its trailing comment, and the comment."""
    text, hash_, comment = line.partition(" # ")
    return (text.rstrip(), comment.strip()) if hash_ else (line.rstrip(), None)


def console_commands(block: Block) -> list[Command]:
    lines = block.text.splitlines()
    commands: list[Command] = []
    prelude: list[str] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("$ "):
            index += 1
            continue
        first = index
        text = lines[index][2:]
        while shell_comments(text)[0] or text.endswith("\\"):
            index += 1
            text += "\n" + lines[index]
        comments = shell_comments(text)[1]
        answer: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() and not lines[index].startswith("$ "):
            line, comment = answer_comment(lines[index])
            answer.append(line)
            comments += [comment] if comment else []
            index += 1
        command = Command(
            text, block.line + first, block.section, tuple(prelude), tuple(answer), tuple(comments)
        )
        if ASSIGNMENT.match(text):
            prelude.append(text)
        commands.append(command)
    return commands


def readme_commands() -> list[Command]:
    text = README.read_text(encoding="utf-8")
    return [c for b in blocks(text) if b.language == "console" for c in console_commands(b)]


def python_blocks() -> list[Block]:
    return [b for b in blocks(README.read_text(encoding="utf-8")) if b.language == "python"]


COMMANDS = readme_commands()
CURL_COMMANDS = [c for c in COMMANDS if c.section == CURL_SECTION and not ASSIGNMENT.match(c.text)]


def runs(command: Command) -> bool:
    """Whether this test runs a ``dn`` command: read-only listings always, others when the
    README states their outcome."""
    if command.program != "dn":
        return False
    if command.text.startswith("dn train catalog"):
        return True
    return bool(command.answer) or command.stated(r"^exit (\d+)\b") is not None


DN_COMMANDS = [c for c in COMMANDS if runs(c)]


# --- matching answers -------------------------------------------------------------------------


@dataclass
class Placeholders:
    """The README's stand-ins and the live values they stand for, learnt as answers come."""

    values: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        unknown = ID_PLACEHOLDER.search(text)
        assert unknown is None, f"{unknown.group()} is used before an answer showed it"
        return text

    def match(self, answer: Sequence[str], output: str, where: object) -> None:
        """Assert ``output`` is the documented ``answer``; learn the ids it abbreviates."""
        groups: dict[str, str] = {}
        pattern = ""
        for number, line in enumerate(answer):
            pattern += r"\s?" if number else ""
            position = 0
            for token in re.finditer(rf"{ID_PLACEHOLDER.pattern}|\.\.\.", line):
                pattern += re.escape(self.fill(line[position : token.start()]))
                if token.group() == "...":
                    pattern += ".*?"
                else:
                    name = f"id{len(groups)}"
                    groups[name] = token.group()
                    pattern += f"(?P<{name}>{UUID})"
                position = token.end()
            pattern += re.escape(self.fill(line[position:]))
        found = re.fullmatch(pattern, output.strip(), flags=re.DOTALL)
        assert found, f"{where}\nanswered:\n{output.strip()}\nthe README says:\n" + "\n".join(
            answer
        )
        for name, placeholder in groups.items():
            self.values[placeholder] = found.group(name)


# --- running commands -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shell_env(live_api: LiveAPI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment the README's commands run in: this checkout's ``dn`` first on PATH, no
    DREADNODE_* settings of the machine, and a ``.curlrc`` that makes curl also print the
    status (on a last line of its own), so each command still runs exactly as written."""
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed: the README's API examples need it (install curl)")
    curl_home = tmp_path_factory.mktemp("curl")
    (curl_home / ".curlrc").write_text(
        f'write-out = "\\n%{{http_code}}"\nmax-time = {TIMEOUT_SECONDS // 2}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
    env["PATH"] = os.pathsep.join([str(Path(console_script("dn")).parent), env.get("PATH", "")])
    env["CURL_HOME"] = str(curl_home)
    return env


@pytest.fixture(scope="module")
def placeholders(live_api: LiveAPI) -> Placeholders:
    """The server, its token, and ``JOB_ID``: a job of this server's owner, cancelled."""
    from dreadnode.client import Client

    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        job = client.create_job(base_model="Qwen/Qwen3-8B", method="sft", dataset="s3://b/t")
        client.cancel_job(job.id)
    return Placeholders(
        {README_SERVER: live_api.url, README_TOKEN: live_api.token, "JOB_ID": job.id}
    )


def bash(
    command: Command, env: Mapping[str, str], placeholders: Placeholders
) -> subprocess.CompletedProcess[str]:
    script = "\n".join(placeholders.fill(line) for line in [*command.prelude, command.text])
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def curl(
    command: Command, env: Mapping[str, str], placeholders: Placeholders
) -> tuple[int, str, Any]:
    """Run a curl command; its status, its body, and the body decoded (it is always JSON)."""
    done = bash(command, env, placeholders)
    assert done.returncode == 0, f"{command}\nexit {done.returncode}: {done.stderr}"
    body, _, status = done.stdout.rpartition("\n")
    try:
        decoded = json.loads(body)
    except ValueError:
        pytest.fail(f"{command}\nanswered {status} with a body that is not JSON: {body!r}")
    if int(status) >= 400:
        envelope = {"code": int(status), "detail": str, "type": str, "errors": list}
        assert isinstance(decoded, dict), f"{command}\n{status} is not the envelope: {body}"
        assert set(decoded) == set(envelope), f"{command}\n{status} is not the envelope: {body}"
        assert decoded["code"] == int(status), f"{command}\ncode is not the status: {body}"
        assert isinstance(decoded["detail"], str), body
        assert isinstance(decoded["errors"], list), body
    return int(status), body, decoded


# --- the tests --------------------------------------------------------------------------------


def test_readme_has_the_examples_this_test_runs() -> None:
    """If parsing finds nothing (a renamed section, a changed fence), the tests below would pass
    vacuously; they must not."""
    assert len(CURL_COMMANDS) >= 5, f"curl commands found in {CURL_SECTION!r}: {CURL_COMMANDS}"
    assert all(c.program == "curl" for c in CURL_COMMANDS), "only curl runs in the curl section"
    assert any(c.stated(r"^exit (\d+)\b") == "2" for c in DN_COMMANDS)
    assert len(python_blocks()) >= 2


def test_curl_examples_answer_as_documented(
    shell_env: dict[str, str], placeholders: Placeholders
) -> None:
    """Each curl example in order (a later one may use the id an earlier one created)."""
    for command in CURL_COMMANDS:
        status, body, _ = curl(command, shell_env, placeholders)
        # The status as stated, else the envelope's code in the answer shown, else 200.
        shown = re.search(r'^\{"code":(\d{3}),', command.answer[0]) if command.answer else None
        expected = command.stated(r"^(\d{3})$") or (shown.group(1) if shown else "200")
        assert status == int(expected), f"{command}\nanswered {status}, not {expected}: {body}"
        if command.answer:
            placeholders.match(command.answer, body, command)
        for prose in command.comments:
            if re.fullmatch(r"\d{3}", prose):
                continue
            for quoted in re.findall(r'"[^"]*"', prose):
                assert quoted in body, f"{command}\nthe answer has no {quoted}: {body}"
        again = command.stated(r"\bagain: (\d{3})\b")
        if again is not None:
            status, body, _ = curl(command, shell_env, placeholders)
            assert status == int(again), f"{command}, again: answered {status}: {body}"


@pytest.mark.parametrize("command", DN_COMMANDS, ids=lambda c: f"line{c.line}")
def test_dn_examples_do_what_they_say(
    command: Command, shell_env: dict[str, str], placeholders: Placeholders
) -> None:
    done = bash(command, shell_env, placeholders)
    expected = int(command.stated(r"^exit (\d+)\b") or 0)
    assert done.returncode == expected, f"{command}\nexit {done.returncode}:\n{done.stderr}"
    if command.answer:
        placeholders.match(command.answer, done.stdout + done.stderr, command)
    stderr = command.stated(r"^stderr: (.*)$")
    if stderr is not None:
        placeholders.match([stderr], done.stderr, command)
    keys = command.stated(r"^(\{.*\})$")
    if keys is not None:
        answer = json.loads(done.stdout)
        named = set(re.findall(r'"(\w+)":', keys))
        assert named <= set(answer), f"{command}\nanswer keys {sorted(answer)}, README {named}"


def _comments(source: str) -> dict[int, str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string[1:].strip() for t in tokens if t.type == tokenize.COMMENT}


def _stated_value(comment: str) -> str:
    """``262144: ids are ids`` states 262144: the value ends at a ": " outside brackets."""
    depth, quote = 0, ""
    for index, char in enumerate(comment):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and comment.startswith(": ", index):
            return comment[:index]
    return comment


@pytest.mark.parametrize("block", python_blocks(), ids=lambda b: f"line{b.line}")
def test_python_examples_print_what_the_comments_say(
    block: Block, live_api: LiveAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("DREADNODE")]:
        monkeypatch.delenv(name)
    if "dreadnode.client" in block.text:
        monkeypatch.setenv("DREADNODE_SERVER_URL", live_api.url)
        monkeypatch.setenv("DREADNODE_API_KEY", live_api.token)
    comments = _comments(block.text)
    lines = block.text.splitlines()
    namespace: dict[str, Any] = {}
    checked = 0
    for statement in ast.parse(block.text).body:
        where = f"README.md:{block.line + statement.lineno - 1}"
        end = statement.end_lineno or statement.lineno
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            if isinstance(statement, ast.Expr):
                code = compile(ast.Expression(statement.value), "README.md", "eval")
                value = eval(code, namespace)
            else:
                exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
        said = [
            comments[n]
            for n in range(statement.lineno, end + 1)
            if n in comments and "print(" in lines[n - 1]
        ]
        if said:
            shown = ", ".join(printed.getvalue().splitlines())
            Placeholders().match([said[0]], shown, f"{where}: {lines[statement.lineno - 1]}")
            checked += 1
        if isinstance(statement, ast.Expr):
            after = comments.get(end) or (
                comments.get(end + 1)
                if lines[end:] and lines[end].lstrip().startswith("#")
                else None
            )
            if after is not None and VALUE_START.match(after):
                stated = _stated_value(after)
                Placeholders().match([stated], repr(value), f"{where}: {lines[end - 1]}")
                checked += 1
    assert checked, f"README.md:{block.line}: a Python example that states no output"
