"""Bearer-token guards: 401 without a well-formed token, 403 with a wrong one, compared in
constant time. One check, `require_token`, for each credential a service accepts:

- `require_admin`: an operator's ADMIN_TOKEN (catalog writes, order status changes);
- `require_service`: a calling service's own credential (order-api's orders and their personal
  data answer only the shop, which sends ORDER_API_TOKEN; order-api holds the same value as
  ORDER_API_SERVICE_TOKEN).

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


def require_token(request: web.Request, token: Secret, *, realm: str, what: str) -> None:
    """401 unless the request carries a well-formed bearer token, 403 unless it is `token`."""
    given = bearer_token(request, realm)
    if not hmac.compare_digest(given.encode("ascii"), token.reveal().encode()):
        raise ApiError(403, f"the {what} is not valid")


def require_admin(request: web.Request, token: Secret) -> None:
    require_token(request, token, realm="techcommerce-admin", what="admin token")


def require_service(request: web.Request, token: Secret) -> None:
    require_token(request, token, realm="techcommerce-service", what="service token")
