"""Bearer-token guard for admin endpoints: 401 without a token, 403 with a wrong one."""

from __future__ import annotations

import hmac

from aiohttp import web

from kit.errors import ApiError
from kit.settings import Secret


def require_admin(request: web.Request, token: Secret) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(
            401,
            "admin endpoints need 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="techcommerce-admin"'},
        )
    if not hmac.compare_digest(given.strip().encode(), token.reveal().encode()):
        raise ApiError(403, "the admin token is not valid")
