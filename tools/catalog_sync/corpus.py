"""A deterministic corpus of plausible `--model` typos, and of strings that are no model at all.

Each typo is made from a real catalog id by one kind of slip a user makes: a deleted, swapped,
substituted or inserted character, the wrong case, the organisation left off, other separators.
A "typo" that happens to be another real id is dropped: it is not a typo.

It lives here, standard library only, because two users need the same corpus: the suggestion
benchmark (``benchmarks/suggest.py``) and the checker, which asks both catalog copies for
suggestions on it and requires the same answers.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["NON_MODEL_STRINGS", "Typo", "make_prefixes", "make_typos"]


@dataclass(frozen=True)
class Typo:
    """A mistyped ``text`` of the id the user ``intended``, made by one ``kind`` of slip."""

    kind: str
    intended: str
    text: str


NON_MODEL_STRINGS = (
    "banana", "SELECT * FROM models", "hello world", "gpt-4o", "claude-3-opus", "mistral-7b",
    "asdfghjkl", "12345", "../../etc/passwd", "<script>alert(1)</script>", "my-dataset.jsonl",
    "train", "sft", "ppo", "none", "null", "true", "http://localhost:8000", "bert-base-uncased",
    "gemma-2b", "phi-3-mini", "falcon-40b", "t5-small", "whisper-large", "stable-diffusion-xl",
    "the quick brown fox", "README.md", "~/models/checkpoint", "DROP TABLE jobs;", "x",
    "aaaaaaaaaaaa", "0.0.0.0",  # noqa: S104 -- a string users type, not a bind address
    "yes", "cancel", "Lorem ipsum dolor sit amet", "my-finetune-v2",
    "resnet50", "dall-e-3", "llava-13b", "sentence-transformers/all-MiniLM-L6-v2",
)  # fmt: skip


def make_typos(ids: Sequence[str], *, seed: int = 7, per_kind: int = 3) -> list[Typo]:
    """Typos of every id in ``ids``: ``per_kind`` random ones of each character-level kind."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible corpus, not a secret
    known = set(ids)
    typos: list[Typo] = []

    def add(kind: str, intended: str, text: str) -> None:
        if text != intended and text not in known:
            typos.append(Typo(kind, intended, text))

    for tid in ids:
        name = tid.partition("/")[2]
        for _ in range(per_kind):
            i = rng.randrange(len(tid))
            add("deletion", tid, tid[:i] + tid[i + 1 :])
            i = rng.randrange(len(tid) - 1)
            add("swap", tid, tid[:i] + tid[i + 1] + tid[i] + tid[i + 2 :])
            i = rng.randrange(len(tid))
            char = rng.choice(string.ascii_lowercase + string.digits)
            add("substitution", tid, tid[:i] + char + tid[i + 1 :])
            i = rng.randrange(len(tid))
            add("insertion", tid, tid[:i] + rng.choice(string.ascii_lowercase) + tid[i:])
        add("case", tid, tid.lower())
        add("case", tid, tid.upper())
        add("no-organisation", tid, name)
        add("no-organisation", tid, name.lower())
        add("separators", tid, re.sub(r"[-./]", "_", tid))
        add("separators", tid, re.sub(r"[-./]", " ", tid))
        add("separators", tid, tid.replace("-", ""))
    return typos


def make_prefixes(ids: Sequence[str]) -> list[Typo]:
    """The start of each id that a user might stop typing at: cut at each separator from the
    second segment of the name on, kept only when it starts that id alone (ignoring case) and is
    not an id itself, so exactly one answer is right."""
    keys = {tid: tid.lower() for tid in ids}
    prefixes: list[Typo] = []
    for tid in ids:
        cuts = [m.start() for m in re.finditer(r"[-.:]", tid) if m.start() > tid.find("/") + 1]
        for cut in cuts:
            text = tid[:cut]
            starts = [other for other, key in keys.items() if key.startswith(text.lower())]
            if starts == [tid]:
                prefixes.append(Typo("prefix", tid, text))
                prefixes.append(Typo("prefix", tid, text.partition("/")[2]))
    return prefixes
