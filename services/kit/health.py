"""Liveness and readiness.

/health answers while the process can serve at all: it never touches the database, so a database
outage never makes Kubernetes restart healthy pods. /ready answers 200 only when this pod should get
traffic: not shutting down, and its database (if it has one) answers within a short timeout.
"""

from __future__ import annotations

from aiohttp import web

from kit import db
from kit.keys import DB_POOL, SERVICE_NAME, STATE

READY_DB_TIMEOUT_SECONDS = 1.0


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": request.app[SERVICE_NAME]})


async def ready(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, str] = {}
    if app[STATE].shutting_down:
        checks["shutdown"] = "draining"
    if DB_POOL in app:
        ok = await db.ping(app, READY_DB_TIMEOUT_SECONDS)
        checks["database"] = "ok" if ok else "unavailable"
    ready_now = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ready" if ready_now else "not_ready", "checks": checks},
        status=200 if ready_now else 503,
    )
