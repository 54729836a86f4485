"""SIGTERM: readiness turns false at once, requests keep being served during the drain, and a
request in flight when the listener closes still completes."""

import asyncio

import aiohttp
import aiopg

from support.fixtures import service_env
from support.procs import start_service


async def test_sigterm_drains_in_flight_requests(empty_db):
    service = start_service(
        "product_api",
        service_env(
            "product_api", DRAIN_SECONDS="1.5", SHUTDOWN_TIMEOUT_SECONDS="10", LOG_LEVEL="INFO"
        ),
    )
    try:
        async with aiopg.connect(empty_db) as blocker, blocker.cursor() as cur:
            # Hold a lock so GET /products waits in the database: a request in flight.
            await cur.execute("BEGIN")
            await cur.execute("LOCK TABLE catalog.products IN ACCESS EXCLUSIVE MODE")
            async with aiohttp.ClientSession() as session:
                in_flight = asyncio.ensure_future(session.get(service.url + "/products"))
                await asyncio.sleep(0.3)
                service.terminate()
                await asyncio.sleep(0.3)
                async with session.get(service.url + "/ready") as ready:
                    assert ready.status == 503  # not ready as soon as shutdown begins
                async with session.get(service.url + "/health") as health:
                    assert health.status == 200  # still serving during the drain
                await asyncio.sleep(1.5)  # the drain is over: the listener is closing now
                await cur.execute("COMMIT")  # let the in-flight request finish
                response = await in_flight
                assert response.status == 200
                assert (await response.json())["items"] == []
        assert service.process.wait(timeout=15) == 0
        output = service.output()
        assert '"msg":"shutdown: done"' in output
    finally:
        service.stop()
