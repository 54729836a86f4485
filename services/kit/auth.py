"""Bearer-token guard for admin endpoints: 401 without a well-formed token, 403 with a wrong one.

aiohttp decodes header bytes as UTF-8 with `surrogateescape`, so a header with bytes that are not
UTF-8 arrives as a str holding lone surrogates, which cannot be encoded again. Credentials are
therefore checked for shape first: `Bearer` and one token of visible ASCII (RFC 6750 token68 is a
subset of it), at most MAX_TOKEN_LENGTH long; anything else is 401 (malformed credentials).
"""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from kit.errors import ApiError
from kit.settings import Secret

MAX_TOKEN_LENGTH = 1024
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([\x21-\x7e]{1,1024}) *")  # MAX_TOKEN_LENGTH


def bearer_token(request: web.Request, realm: str) -> str:
    """The request's bearer token, or 401 when the Authorization header is missing or malformed."""
    match = _BEARER.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        raise ApiError(
            401,
            "this endpoint needs 'Authorization: Bearer <token>' (visible ASCII)",
            headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    return match.group(1)


def require_admin(request: web.Request, token: Secret) -> None:
    given = bearer_token(request, "techcommerce-admin")
    if not hmac.compare_digest(given.encode("ascii"), token.reveal().encode()):
        raise ApiError(403, "the admin token is not valid")
