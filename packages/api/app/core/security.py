"""API tokens: ``dn_<prefix>_<secret>``, stored as a lookup prefix plus sha256 of the whole token.

The prefix is not secret; it only finds the row. The secret carries 256 bits of entropy, so a
plain sha256 (no slow KDF) is enough, and the stored hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["NewToken", "hash_token", "hashes_match", "token_prefix"]

_TOKEN = re.compile(r"dn_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")


class NewToken:
    """A freshly generated token: shown once, then only its prefix and hash are kept."""

    __slots__ = ("prefix", "token", "token_hash")

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(6)
        self.token = f"dn_{self.prefix}_{secrets.token_urlsafe(32)}"
        self.token_hash = hash_token(self.token)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    """The lookup prefix of a well-formed token, or None for anything else."""
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


def hashes_match(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)
