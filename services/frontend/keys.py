"""frontend's own application keys."""

from __future__ import annotations

from aiohttp import web

from frontend.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PRODUCTS = web.AppKey("products", "ProductApi")
ORDERS = web.AppKey("orders", "OrderApi")
SESSION_CODEC = web.AppKey("session_codec", "SessionCodec")
STATIC_URLS = web.AppKey("static_urls", dict)
FRAGMENTS = web.AppKey("fragments", "FragmentCache")

# Per-request storage
SESSION = web.RequestKey("session", "Session")
