"""Which SDK versions the server still serves, read from the client's User-Agent.

The SDK sends ``dreadnode-training/<version>``; any other User-Agent (curl, browsers) is let
through, since only the SDK's wire format changes with its version.
"""

from __future__ import annotations

import re

__all__ = ["parse_version", "sdk_too_old"]

_SDK_AGENT = re.compile(r"(?:^|\s)dreadnode-training/(\d+(?:\.\d+)*)([A-Za-z.+-][\w.+-]*)?")


def parse_version(text: str) -> tuple[int, ...]:
    """``"1.2.3"`` as ``(1, 2, 3)``; trailing zeros dropped so that 0.1 equals 0.1.0."""
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def sdk_too_old(user_agent: str, minimum: str) -> str | None:
    """The SDK version named in ``user_agent`` if it is older than ``minimum``, else None."""
    match = _SDK_AGENT.search(user_agent)
    if match is None:
        return None
    release, suffix = match.group(1), match.group(2) or ""
    # A pre-release ("1.0.0rc1", "1.0.0.dev3") comes before its release; a local or post
    # suffix ("+abc", ".post1") does not.
    pre = bool(suffix) and not suffix.startswith(("+", ".post", "-post"))
    if (parse_version(release), not pre) < (parse_version(minimum), True):
        return release + suffix
    return None
