"""What a request's ``Content-Type`` declares: its media type and its charset.

Job bodies and dataset files are read as UTF-8, the only encoding JSON allows between systems
(RFC 8259, section 8.1). A client that declares another charset (``charset=latin-1``) means its
bytes to be read that way; reading them as UTF-8 anyway would store different text than it sent,
or refuse valid text with a misleading line error. So a declared charset other than UTF-8 is a
415 that names it, and no charset at all means UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import UnsupportedMediaTypeError

__all__ = ["ContentType", "require_utf8"]

#: The names UTF-8 goes by in a ``charset`` parameter (compared lower-cased).
UTF8_NAMES = frozenset({"utf-8", "utf8"})


@dataclass(frozen=True)
class ContentType:
    """A parsed ``Content-Type``: the media type and charset, lower-cased (charset None when
    none is declared)."""

    media_type: str
    charset: str | None

    @classmethod
    def parse(cls, header: str | None) -> ContentType:
        """Read a header value as ``type/subtype; name=value; ...``, values optionally quoted.
        An absent header is an empty media type."""
        media_type, *parameters = (header or "").split(";")
        charset = None
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"').strip().lower()
        return cls(media_type.strip().lower(), charset)


def require_utf8(content_type: ContentType, what: str) -> None:
    """415 unless ``content_type`` declares UTF-8 or no charset (or, for
    ``application/octet-stream``, ``binary``: no text encoding at all, as ``file --mime`` says
    of any file); ``what`` names the body."""
    charset = content_type.charset
    if charset == "binary" and content_type.media_type == "application/octet-stream":
        return
    if charset is not None and charset not in UTF8_NAMES:
        raise UnsupportedMediaTypeError(
            f"{what} must be UTF-8, but the Content-Type declares charset={charset!r}; send "
            "UTF-8 and declare charset=utf-8 or no charset"
        )
