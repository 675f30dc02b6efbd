"""The two ways to present a token, declared as OpenAPI security schemes.

``app.api.deps.get_current_user`` reads the token itself (a Bearer token wins; another
``Authorization`` scheme, a proxy's Basic credentials say, falls back to ``X-API-Key``) and
answers every failure with the one 401 envelope. These declarations add no check of their own
(``auto_error=False``): they tell the OpenAPI document, and so the docs page's "Authorize"
button and schemathesis, that every training operation takes either scheme.
"""

from __future__ import annotations

from fastapi.security import APIKeyHeader, HTTPBearer

__all__ = ["API_KEY", "BEARER"]

BEARER = HTTPBearer(
    scheme_name="BearerToken",
    description="`Authorization: Bearer dn_...`: a token from `dreadnode-api tokens create`",
    auto_error=False,
)
API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="APIKeyHeader",
    description="The same token as `X-API-Key: dn_...` (what the dreadnode SDK sends)",
    auto_error=False,
)
