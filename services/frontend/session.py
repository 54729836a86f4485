"""The shopper's session in a signed cookie, and the CSRF token that lives in it.

The cookie is `base64url(JSON) "." base64url(HMAC-SHA256(key, first part))`. The payload is
readable by its owner (it holds a cart, order ids and a random token, nothing secret about other
people) but cannot be changed without the key: a changed cookie is simply ignored and the shopper
starts with an empty session. The issue time travels inside the signed part, so an old cookie
expires even if a browser keeps it.

CSRF: a random token per session, put in a hidden field of every form and compared in constant
time on every POST (synchronizer token pattern). SameSite=Lax on the cookie is a second layer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from frontend.keys import SESSION, SESSION_CODEC

COOKIE_NAME = "tc_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
MAX_COOKIE_BYTES = 3800  # browsers keep 4096 bytes per cookie, name and attributes included
CSRF_FIELD = "csrf_token"


class CsrfRejected(Exception):
    """A POST without the session's CSRF token."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and verifies session cookies with a key derived from SESSION_SECRET."""

    def __init__(self, secret: str, *, secure: bool, max_age: int = MAX_AGE_SECONDS) -> None:
        self._key = hashlib.sha256(b"techcommerce-frontend-session\0" + secret.encode()).digest()
        self.secure = secure
        self.max_age = max_age

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any], now: float | None = None) -> str:
        payload = {"t": int(now if now is not None else time.time()), "d": data}
        body = _b64(orjson.dumps(payload))
        return f"{body}.{self._sign(body)}"

    def loads(self, cookie: str, now: float | None = None) -> dict[str, Any] | None:
        """The data of a valid, unexpired cookie; None for anything else."""
        # A cookie we wrote is base64url ASCII; anything else (other bytes arrive as surrogates,
        # which cannot be encoded to be checked) is a tampered cookie, ignored like the others.
        if not cookie.isascii() or len(cookie) > MAX_COOKIE_BYTES:
            return None
        body, _, signature = cookie.partition(".")
        if not body or not signature:
            return None
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = orjson.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("d"), dict):
            return None
        issued = payload.get("t")
        current = now if now is not None else time.time()
        if not isinstance(issued, int) or not (current - self.max_age <= issued <= current + 60):
            return None
        return payload["d"]


class Session(dict):
    """A dict that remembers whether it changed, so unchanged sessions set no cookie."""

    changed: bool = False

    def mark_changed(self) -> None:
        self.changed = True


def get_session(request: web.Request) -> Session:
    """The request's session, read from the cookie on first use."""
    session = request.get(SESSION)
    if session is None:
        raw = request.cookies.get(COOKIE_NAME)
        data = request.app[SESSION_CODEC].loads(raw) if raw else None
        session = Session(data or {})
        request[SESSION] = session
    return session


def save_session(request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(SESSION)
    if session is None or not session.changed or response.prepared:
        return
    codec = request.app[SESSION_CODEC]
    response.set_cookie(
        COOKIE_NAME,
        codec.dumps(dict(session)),
        max_age=codec.max_age,
        path="/",
        httponly=True,
        secure=codec.secure,
        samesite="Lax",
    )


@web.middleware
async def session_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Writes the session cookie on the way out when a handler changed the session."""
    response = await handler(request)
    save_session(request, response)
    return response


def csrf_token(request: web.Request) -> str:
    session = get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
        session.mark_changed()
    return token


async def checked_form(request: web.Request) -> Any:
    """The posted form, once its CSRF token matched this session's (else CsrfRejected)."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, LookupError, ValueError, HttpProcessingError):
        # Bytes that are not text in the declared charset, an unknown charset, a broken
        # multipart body: a browser never sends these, so it is a bad request, not our error.
        raise web.HTTPBadRequest(reason="the form could not be read") from None
    check_csrf(request, form)
    return form


def check_csrf(request: web.Request, form: Any) -> None:
    """Raise CsrfRejected unless the form carries this session's token."""
    expected = get_session(request).get("csrf")
    given = form.get(CSRF_FIELD, "")
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise CsrfRejected()
