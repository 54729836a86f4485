"""Rendering pages, and turning failures into friendly HTML pages for browsers.

The kit's error middleware answers every failure in the JSON error shape. That is right for API
clients, so it stays the outer layer; for a browser (its Accept header names text/html) the
shop's one middleware here (page_middleware, inside the kit's) renders the same failure as a page
with the shop's layout and the request id to quote to support, and writes the session cookie.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from frontend.api import ORDER_API
from frontend.cart import Cart
from frontend.keys import STATIC_URLS
from frontend.service_client import Unavailable, UpstreamError
from frontend.session import CsrfRejected, csrf_token, get_session, save_session
from kit.errors import RETRY_AFTER_SECONDS, ApiError
from kit.keys import REQUEST_ID

log = logging.getLogger("frontend.pages")

SECURITY_HEADERS = {
    # Everything (the one stylesheet, the product pictures) comes from this app: no CDN, no
    # script at all, no inline code.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages carry a CSRF token and a cart: never store them in a shared cache.
    "Cache-Control": "no-store",
}


class PageError(Exception):
    """A failure with a message for people: status, title, text."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text


def flash(request: web.Request, text: str, kind: str = "ok") -> None:
    """A message shown once, on the next page rendered for this browser."""
    get_session(request).add_flash(kind, text)


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A page with the layout's shared context: request id, CSRF token, cart size, messages."""
    session = get_session(request)
    full = {
        "request_id": request.get(REQUEST_ID, ""),
        "csrf_token": csrf_token(request),
        "cart_count": Cart(session).count,
        "flashes": session.take_flashes(),
        "static": request.app[STATIC_URLS],
        **context,
    }
    html = aiohttp_jinja2.get_env(request.app).get_template(template).render(full)
    # One Response with all its headers: aiohttp_jinja2.render_template would set the content type
    # and then the charset, each parsing the header again.
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, **headers} if headers else SECURITY_HEADERS,
    )


def render_fragment(request: web.Request, template: str, context: dict[str, Any]) -> Markup:
    """A template rendered from `context` alone (no layout, no per-request values): a piece of a
    page (fragments.FragmentCache) that the page's template puts in as it is."""
    html = aiohttp_jinja2.get_env(request.app).get_template(template).render(context)
    # The output of an autoescaping template is escaped HTML already.
    return Markup(html)  # noqa: S704  # nosec B704


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs the next page (no resubmit on reload)."""
    return web.Response(status=303, headers={"Location": location})


def wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def error_page(
    request: web.Request,
    status: int,
    title: str,
    text: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return render(
        request, "error.html", {"title": title, "text": text}, status=status, headers=headers
    )


_HTTP_PAGES = {
    404: ("Page not found", "We could not find that page. It may have moved."),
    405: ("Not allowed", "That address does not accept this kind of request."),
    413: ("Too much data", "The form sent more data than we accept."),
}


def unavailable_page(request: web.Request, exc: Unavailable) -> web.Response:
    log.warning("dependency unavailable", extra={"dependency": exc.service, "reason": exc.reason})
    if exc.service == ORDER_API:
        title = "Orders are unavailable right now"
        text = (
            "We could not reach our order system. Your cart is saved; please try again in a minute."
        )
    else:
        title = "The shop is taking a short break"
        text = "We could not load the catalog just now. Your cart is saved; please try again soon."
    return error_page(request, 503, title, text, headers={"Retry-After": RETRY_AFTER_SECONDS})


@web.middleware
async def page_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """The shop's one middleware, inside the kit's: failures as pages for browsers (API-style
    clients keep the kit's JSON shape), then the session cookie when the session changed."""
    try:
        response = await handler(request)
    except asyncio.CancelledError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400 or not wants_html(request):
            raise
        title, text = _HTTP_PAGES.get(exc.status, ("Something is not right", exc.reason))
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = error_page(request, exc.status, title, text, headers)
    except PageError as exc:
        if not wants_html(request):
            raise ApiError(exc.status, exc.text) from None
        response = error_page(request, exc.status, exc.title, exc.text)
    except CsrfRejected:
        log.info("csrf token missing or wrong")
        if not wants_html(request):
            raise ApiError(403, "the form's CSRF token is missing or wrong") from None
        response = error_page(
            request,
            403,
            "This form has expired",
            "For your security we could not accept that form. Go back, reload the page and "
            "try again.",
        )
    except Unavailable as exc:
        if not wants_html(request):
            raise ApiError(
                503,
                f"{exc.service} is unavailable, retry shortly",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            ) from None
        response = unavailable_page(request, exc)
    except UpstreamError as exc:
        log.error("unexpected answer from %s: %s %s", exc.service, exc.status, exc.code)
        if not wants_html(request):
            raise
        response = _internal_error_page(request)
    except Exception:
        if not wants_html(request):
            raise
        log.exception("unhandled error")
        response = _internal_error_page(request)
    save_session(request, response)
    return response


def _internal_error_page(request: web.Request) -> web.Response:
    return error_page(
        request,
        500,
        "Something went wrong",
        "Sorry, that did not work. Please try again; if it keeps happening, contact support "
        "and quote the reference below.",
    )
