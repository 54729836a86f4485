"""order-api application factory: the kit's base app plus the order routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import psycopg2
from aiohttp import web

from kit.app import add_openapi_route, create_base_app
from kit.errors import DatabaseUnavailable
from kit.keys import METRICS
from kit.tasks import cancel_and_wait
from order_api import orders, views
from order_api.keys import ORDER_METRICS, SETTINGS
from order_api.metrics import OrderMetrics
from order_api.settings import SERVICE, Settings

log = logging.getLogger("order_api")
PURGE_INTERVAL_SECONDS = 600


def create_app(settings: Settings) -> web.Application:
    app = create_base_app(SERVICE, settings.http, settings.database)
    app[SETTINGS] = settings
    app[ORDER_METRICS] = OrderMetrics(app[METRICS])
    app.cleanup_ctx.append(purge_expired_keys)
    add_routes(app.router)
    add_openapi_route(app, "order_api")
    return app


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/orders", views.create_order, name="orders")
    router.add_get("/orders", views.list_orders)
    router.add_get("/orders/{id}", views.get_order, name="order")
    router.add_post("/orders/{id}/cancel", views.cancel_order, name="order_cancel")
    router.add_post("/orders/{id}/status", views.change_status, name="order_status")


async def purge_expired_keys(app: web.Application) -> AsyncIterator[None]:
    """Delete expired idempotency keys every few minutes (lookups ignore them meanwhile)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
            try:
                purged = await orders.purge_expired_keys(app)
                log.info("purged expired idempotency keys", extra={"purged": purged})
            except (DatabaseUnavailable, psycopg2.Error, OSError):
                log.warning("could not purge expired idempotency keys; will retry")

    task = asyncio.create_task(loop())
    yield
    await cancel_and_wait(task)
