"""A local Tinker-compatible server (SkyRL tx) on a tiny stand-in model, for tests and development.

Why: the worker trains through the official ``tinker`` SDK, and its tests must run offline on a
two-core machine against a real implementation of Tinker's API. ``build_standin_model`` writes a
few-megabyte random Qwen3 with Qwen3's real vocabulary and tokenizer; ``LocalTinker`` starts SkyRL
tx on it and stops it without leaving a process behind; ``python -m app.localtinker`` does the
same for a person.

Importing this package imports neither jax, torch nor tinker: those run in the server's own
process, possibly from another virtualenv (``LocalTinker(python=...)``).
"""

from __future__ import annotations

from app.localtinker.server import (
    API_KEY,
    DEFAULT_BACKEND_CONFIG,
    LocalTinker,
    LocalTinkerError,
    default_cache_dir,
    free_port,
    peaked_standin_dir,
)
from app.localtinker.standin import QWEN3_VOCAB_SIZE, build_standin_model

__all__ = [
    "API_KEY",
    "DEFAULT_BACKEND_CONFIG",
    "QWEN3_VOCAB_SIZE",
    "LocalTinker",
    "LocalTinkerError",
    "build_standin_model",
    "default_cache_dir",
    "free_port",
    "peaked_standin_dir",
]
