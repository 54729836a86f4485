"""The application factory every service builds on."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from kit import health
from kit.db import pool_context
from kit.keys import METRICS, SERVICE_NAME, STATE
from kit.metrics import HttpMetrics, metrics_handler
from kit.middleware import kit_middleware
from kit.settings import DatabaseSettings, HttpSettings
from kit.state import ServiceState


def create_base_app(
    service: str, http: HttpSettings, database: DatabaseSettings | None = None
) -> web.Application:
    """An app with the kit's middlewares, probes and metrics; the service adds its routes."""
    app = web.Application(
        # One middleware: request id, metrics of the final status, the JSON error shape.
        middlewares=[kit_middleware],
        client_max_size=http.max_body_bytes,
    )
    app[SERVICE_NAME] = service
    app[STATE] = ServiceState()
    app[METRICS] = HttpMetrics(service)
    if database is not None:
        app[METRICS].add_db_pool_gauges()
        app.cleanup_ctx.append(pool_context(database, service))
    app.router.add_get("/health", health.health, name="health")
    app.router.add_get("/ready", health.ready, name="ready")
    app.router.add_get("/metrics", metrics_handler, name="metrics")
    return app


def add_openapi_route(app: web.Application, package: str) -> None:
    """GET /openapi.yaml: the API's own OpenAPI document (PACKAGE/openapi.yaml), read once."""
    document = resources.files(package).joinpath("openapi.yaml").read_bytes()

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/yaml")

    app.router.add_get("/openapi.yaml", openapi, name="openapi")
