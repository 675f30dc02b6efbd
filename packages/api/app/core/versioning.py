"""Which SDK versions the server still serves, read from the client's User-Agent.

The SDK sends ``dreadnode-training/<version>``; any other User-Agent (curl, browsers) is let
through, since only the SDK's wire format changes with its version.

The header is anyone's to write, so reading it is bounded before anything is parsed: only its
first ``MAX_USER_AGENT_CHARS`` characters are searched, a version token longer than
``MAX_VERSION_CHARS`` is not a version, and the token is parsed by ``packaging`` (PEP 440, the
scheme the SDK's releases follow: pre-releases before their release, post and local releases
after). A token that is not a version is ignored, like any other client's User-Agent: it cannot
be judged, it is advisory (a proxy may rewrite it), and refusing it would lock out a client over
a header it may not control. Nothing here can raise.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

__all__ = ["MAX_USER_AGENT_CHARS", "MAX_VERSION_CHARS", "sdk_too_old", "sdk_version"]

#: How much of a User-Agent is searched for the SDK's product token; the SDK puts it first.
MAX_USER_AGENT_CHARS = 512
#: The longest version token read; real releases (``1.2.3rc1.post2.dev3+local``) are far shorter.
MAX_VERSION_CHARS = 64

_SDK_AGENT = re.compile(r"(?:^|\s)dreadnode-training/(\S+)")
#: The configured minimum, parsed once (the settings check its form at start-up).
_minimum = lru_cache(maxsize=4)(Version)


def sdk_version(user_agent: str) -> Version | None:
    """The SDK version a User-Agent names, or None (another client, or no readable version)."""
    match = _SDK_AGENT.search(user_agent[:MAX_USER_AGENT_CHARS])
    if match is None or len(match.group(1)) > MAX_VERSION_CHARS:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def sdk_too_old(user_agent: str, minimum: str) -> str | None:
    """The SDK version named in ``user_agent`` (normalised) if it is older than ``minimum``,
    else None."""
    version = sdk_version(user_agent)
    if version is None or version >= _minimum(minimum):
        return None
    return str(version)
