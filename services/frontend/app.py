"""frontend application factory: the kit's base app plus the shop's pages."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from decimal import Decimal, InvalidOperation
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from frontend import pictures, views
from frontend.api import ORDER_API, PRODUCT_API, OrderApi, ProductApi
from frontend.fragments import FragmentCache
from frontend.keys import FRAGMENTS, ORDERS, PRODUCTS, SESSION_CODEC, SETTINGS, STATIC_URLS
from frontend.pages import page_middleware
from frontend.service_client import ServiceClient, session_getter
from frontend.session import SessionCodec
from frontend.settings import SERVICE, Settings
from frontend.ttl_cache import TtlCache
from kit.app import create_base_app
from kit.http_client import client_session_context
from kit.validation import UUID_PATTERN

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
# The order id path segment: the kit's UUID rule (the same one kit.validation.is_uuid checks).
ORDER_ID = "{id:" + UUID_PATTERN.strip("^$") + "}"


def create_app(settings: Settings) -> web.Application:
    app = create_base_app(SERVICE, settings.http)
    app[SETTINGS] = settings
    # Inside the kit's middleware (request id, metrics, JSON errors): failures as pages for
    # browsers, and the session cookie.
    app.middlewares.append(page_middleware)
    app.cleanup_ctx.append(
        client_session_context(settings.http_timeout_seconds, connect_timeout=1.0)
    )
    session = session_getter(app)
    app[PRODUCTS] = ProductApi(
        ServiceClient(PRODUCT_API, settings.product_api_url, session),
        TtlCache(settings.catalog_cache_seconds),
    )
    app.on_cleanup.append(_stop_cache_refreshes)
    app[FRAGMENTS] = FragmentCache()
    app[ORDERS] = OrderApi(
        ServiceClient(ORDER_API, settings.order_api_url, session, token=settings.order_api_token)
    )
    app[SESSION_CODEC] = SessionCodec(
        settings.session_secret.reveal(), secure=settings.session_cookie_secure
    )
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("frontend", "templates"),
        autoescape=True,
        default_helpers=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the image; no stat() per render
    )
    env.filters["money"] = money
    env.filters["when"] = when
    app[STATIC_URLS] = static_urls()
    app.on_response_prepare.append(_static_cache_headers)
    add_routes(app.router)
    return app


async def freeze_startup_objects(_app: web.Application) -> None:
    """Exclude everything that exists once the app is built (modules, templates, routes: about
    50,000 objects) from the cyclic garbage collector's full collections: each of those scanned
    them all and stopped every request for 30-95 ms (measured under the benchmark's load on this
    machine). Reference counting still frees them. For the serving process only
    (`python -m frontend`), not for tests that build many apps in one process."""
    gc.freeze()


async def _stop_cache_refreshes(app: web.Application) -> None:
    await app[PRODUCTS].cache.close()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", views.catalog, name="catalog")
    router.add_get("/products/{id}", views.product, name="product")
    router.add_get("/cart", views.cart_page, name="cart")
    router.add_post("/cart/items", views.cart_add, name="cart_add")
    router.add_post("/cart/items/{id}", views.cart_update, name="cart_update")
    router.add_post("/cart/items/{id}/remove", views.cart_remove, name="cart_remove")
    router.add_get("/checkout", views.checkout_form, name="checkout")
    router.add_post("/checkout", views.checkout_submit, name="checkout_submit")
    router.add_get("/orders/lookup", views.lookup_form, name="lookup")
    router.add_post("/orders/lookup", views.lookup_submit, name="lookup_submit")
    router.add_get(f"/orders/{ORDER_ID}", views.order_page, name="order")
    router.add_post(f"/orders/{ORDER_ID}/cancel", views.cancel_order, name="order_cancel")
    router.add_get("/ready/dependencies", views.dependencies, name="dependencies")
    router.add_get("/pictures/{id}.svg", pictures.product_picture, name="picture")
    router.add_static("/static", STATIC_DIR, name="static")


def static_urls() -> dict[str, str]:
    """URL of each static file with a content hash, so browsers may cache it for a year."""
    urls = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            urls[path.name] = f"/static/{path.name}?v={digest}"
    return urls


async def _static_cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/") and response.status == 200:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"


def money(value: object) -> str:
    """'1299.5' -> '$1,299.50' (display only; order-api computes the totals that count)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"${amount:,.2f}"


def when(value: object) -> str:
    """An ISO timestamp as '27 Nov 2026, 08:43 UTC'."""
    try:
        moment = dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)
    except ValueError:
        return str(value)
    return moment.strftime("%d %b %Y, %H:%M UTC")
