"""Run a service: validate configuration, serve, and shut down gracefully on SIGTERM.

Shutdown order (the whole budget fits Kubernetes' 30 s termination grace):
1. readiness turns false at once, so the endpoints controller stops routing new traffic here;
2. keep serving for DRAIN_SECONDS, because kube-proxies and load balancers learn about the
   change only after a delay and still send requests to a terminating pod meanwhile;
3. stop accepting, wait up to SHUTDOWN_TIMEOUT_SECONDS for in-flight requests to finish;
4. run cleanup contexts (close the HTTP client and the database pool);
5. write the access-log lines still waiting in their batch (kit.logging.AccessLogWriter).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kit.keys import STATE
from kit.logging import ACCESS_LOG, JsonAccessLogger, configure_logging
from kit.settings import ConfigError, HttpSettings

log = logging.getLogger("kit.serve")


async def serve(app: web.Application, http: HttpSettings, host: str = "0.0.0.0") -> None:  # noqa: S104 - containers listen on all interfaces
    runner = web.AppRunner(app, access_log_class=JsonAccessLogger, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(
        runner, host, http.port, shutdown_timeout=http.shutdown_timeout_seconds, backlog=1024
    )
    await site.start()
    loop = asyncio.get_running_loop()
    loop_name = type(loop).__module__.split(".")[0]  # the loop that really runs: uvloop, asyncio
    log.info("serving", extra={"port": http.port, "event_loop": loop_name})

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    app[STATE].shutting_down = True
    log.info("shutdown: not ready, draining", extra={"drain_seconds": http.drain_seconds})
    await asyncio.sleep(http.drain_seconds)
    log.info("shutdown: closing listener, waiting for in-flight requests")
    await runner.cleanup()
    ACCESS_LOG.flush()  # every request's access line is out before the process says it is done
    log.info("shutdown: done")


def run(
    service: str,
    load_settings: Callable[[], Any],
    build_app: Callable[[Any], web.Application],
) -> None:
    """Entry point of `python -m <service>`: a config error stops us with one clear line."""
    try:
        settings = load_settings()
    except ConfigError as err:
        print(f"{service}: configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, settings.http.log_level)
    with asyncio.Runner(loop_factory=event_loop_factory(settings.http.event_loop)) as runner:
        runner.run(serve(build_app(settings), settings.http))


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """EVENT_LOOP: uvloop (the default: libuv's loop, the usual partner of aiohttp in
    production) or asyncio (the standard library's)."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop
