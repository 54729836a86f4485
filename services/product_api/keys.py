"""product-api's own application keys."""

from aiohttp import web

from product_api.read_cache import ProductCache
from product_api.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
# The read cache of product rows; absent when PRODUCT_CACHE_MAX_ENTRIES is 0.
PRODUCT_CACHE = web.AppKey("product_cache", ProductCache)
