"""Token rows: create one, and find the row a presented token belongs to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.security import NewToken, hashes_match, token_prefix
from app.models import ApiToken, utcnow

__all__ = ["create_token", "find_token"]


def create_token(session: Session, *, name: str, owner: str | None, read_only: bool) -> str:
    """Store a new token for ``owner`` (default: ``name``) and return it; it is never stored."""
    token = NewToken()
    session.add(
        ApiToken(
            name=name,
            owner=owner or name,
            prefix=token.prefix,
            token_hash=token.token_hash,
            read_only=read_only,
            created_at=utcnow(),
        )
    )
    session.commit()
    return token.token


def find_token(session: Session, token: str) -> ApiToken | None:
    """The row of a valid token, or None; looked up by prefix, compared in constant time."""
    prefix = token_prefix(token)
    if prefix is None:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one_or_none()
    if row is None or not hashes_match(token, row.token_hash):
        return None
    return row
