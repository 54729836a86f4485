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
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from frontend.keys import SESSION, SESSION_CODEC
from kit.validation import MAX_QUANTITY, is_uuid, positive_id

COOKIE_NAME = "tc_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
MAX_COOKIE_BYTES = 3800  # browsers keep 4096 bytes per cookie, name and attributes included
CSRF_FIELD = "csrf_token"
RECENT_ORDERS = 10  # order ids this browser may open without looking them up again
RECENT_CHECKOUTS = 3  # idempotency keys remembered to answer a resubmitted checkout form
MAX_FLASHES = 5


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
        self._attributes = f"; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax" + (
            "; Secure" if secure else ""
        )

    def set_cookie(self, value: str) -> str:
        """The Set-Cookie header of a session cookie (what aiohttp's set_cookie writes, without
        building a Morsel per response; `value` is base64url and ".", nothing to quote)."""
        return f"{COOKIE_NAME}={value}{self._attributes}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.digest(self._key, body.encode("ascii"), "sha256"))

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


@dataclass
class Session:
    """What the shop keeps for one browser. The cookie's JSON is checked field by field here,
    once (a value of the wrong shape is dropped, never trusted), and `changed` says whether the
    cookie must be written again, so unchanged sessions set no cookie."""

    cart: dict[int, int] = field(default_factory=dict)  # product id -> quantity
    csrf: str = ""
    orders: list[str] = field(default_factory=list)  # ids this browser may open, newest first
    checkouts: dict[str, str] = field(default_factory=dict)  # idempotency key -> order id
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text), shown once
    changed: bool = field(default=False, compare=False)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Session:
        session = cls()
        cart = data.get("cart")
        if isinstance(cart, dict):
            for key, quantity in cart.items():
                product_id = positive_id(key)
                if product_id and type(quantity) is int and 0 < quantity <= MAX_QUANTITY:
                    session.cart[product_id] = quantity
        csrf = data.get("csrf")
        if isinstance(csrf, str) and len(csrf) >= 32:
            session.csrf = csrf
        orders = data.get("orders")
        if isinstance(orders, list):
            session.orders = [o for o in orders if isinstance(o, str) and is_uuid(o)][
                :RECENT_ORDERS
            ]
        checkouts = data.get("checkouts")
        if isinstance(checkouts, dict):
            session.checkouts = {
                key: order
                for key, order in list(checkouts.items())[-RECENT_CHECKOUTS:]
                if is_uuid(key) and isinstance(order, str) and is_uuid(order)
            }
        flashes = data.get("flash")
        if isinstance(flashes, list):
            session.flashes = [
                (m[0], m[1])
                for m in flashes[-MAX_FLASHES:]
                if isinstance(m, list) and len(m) == 2 and all(isinstance(s, str) for s in m)
            ]
        return session

    def to_data(self) -> dict[str, Any]:
        """The cookie's JSON (the same keys as ever, so existing cookies stay valid)."""
        data: dict[str, Any] = {}
        if self.cart:
            data["cart"] = {str(pid): qty for pid, qty in self.cart.items()}
        if self.csrf:
            data["csrf"] = self.csrf
        if self.orders:
            data["orders"] = self.orders
        if self.checkouts:
            data["checkouts"] = self.checkouts
        if self.flashes:
            data["flash"] = [list(m) for m in self.flashes]
        return data

    def mark_changed(self) -> None:
        self.changed = True

    def remember_order(self, order_id: str) -> None:
        self.orders = [order_id, *(o for o in self.orders if o != order_id)][:RECENT_ORDERS]
        self.mark_changed()

    def remember_checkout(self, key: str, order_id: str) -> None:
        recent = list(self.checkouts.items())[-(RECENT_CHECKOUTS - 1) :]
        self.checkouts = dict([*recent, (key, order_id)])
        self.mark_changed()

    def add_flash(self, kind: str, text: str) -> None:
        self.flashes = [*self.flashes[-(MAX_FLASHES - 1) :], (kind, text)]
        self.mark_changed()

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        if taken:
            self.mark_changed()
        return taken


def get_session(request: web.Request) -> Session:
    """The request's session, read from the cookie on first use."""
    session = request.get(SESSION)
    if session is None:
        raw = request.cookies.get(COOKIE_NAME)
        data = request.app[SESSION_CODEC].loads(raw) if raw else None
        session = Session.from_data(data or {})
        request[SESSION] = session
    return session


def save_session(request: web.Request, response: web.StreamResponse) -> None:
    """Write the session cookie on the way out when the request changed the session
    (pages.page_middleware calls it for every response)."""
    session = request.get(SESSION)
    if session is None or not session.changed or response.prepared:
        return
    codec = request.app[SESSION_CODEC]
    response.headers.add(hdrs.SET_COOKIE, codec.set_cookie(codec.dumps(session.to_data())))


def csrf_token(request: web.Request) -> str:
    session = get_session(request)
    if not session.csrf:
        session.csrf = secrets.token_urlsafe(32)
        session.mark_changed()
    return session.csrf


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
    expected = get_session(request).csrf
    given = form.get(CSRF_FIELD, "")
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise CsrfRejected()
