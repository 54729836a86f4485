"""Every typed application key of the kit, in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web

SERVICE_NAME = web.AppKey("service_name", str)
STATE = web.AppKey("state", "ServiceState")
METRICS = web.AppKey("metrics", "HttpMetrics")
DB_POOL = web.AppKey("db_pool", "Pool")
DB_ACQUIRE_TIMEOUT = web.AppKey("db_acquire_timeout", float)
HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)

# Per-request storage
REQUEST_ID = web.RequestKey("request_id", str)
