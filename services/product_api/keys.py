"""product-api's own application keys."""

from aiohttp import web

from product_api.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
