"""The training API service: catalog, job validation and the job store (see docs/api.md)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("dreadnode-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
