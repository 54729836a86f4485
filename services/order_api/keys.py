"""order-api's own application keys."""

from aiohttp import web

from order_api.metrics import OrderMetrics
from order_api.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ORDER_METRICS = web.AppKey("order_metrics", OrderMetrics)
