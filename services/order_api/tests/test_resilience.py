"""order-api as a real process: PostgreSQL dies during a burst, SIGTERM during a burst.
Nothing acknowledged with 201 is lost; everything else gets a clean error; no request that was
accepted is cut."""

import asyncio

import aiohttp

from support import pg
from support.fixtures import SERVICE_HEADERS, service_env
from support.orders import new_key, order_body
from support.procs import start_service


async def post_order(session, url, body):
    try:
        async with session.post(
            url + "/orders", json=body, headers={"Idempotency-Key": new_key(), **SERVICE_HEADERS}
        ) as response:
            payload = await response.json(content_type=None)
            return response.status, payload
    except aiohttp.ClientError as exc:
        return "connection-error", repr(exc)


async def test_orders_acknowledged_survive_a_database_crash(products, sql, pg_server, empty_db):
    await sql("UPDATE catalog.products SET stock = 100000 WHERE id = 1")
    service = start_service(
        "order_api", service_env("order_api", DB_ACQUIRE_TIMEOUT_SECONDS="0.5", DB_POOL_MAX="10")
    )
    results = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

            async def client_loop():
                for _ in range(40):
                    results.append(await post_order(session, service.url, order_body((1, 1))))

            burst = asyncio.gather(*(client_loop() for _ in range(8)))
            await asyncio.sleep(0.4)
            await asyncio.to_thread(pg_server.stop, "immediate")  # a crash, not a clean stop
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg_server.start)
            await burst
            # recovered without a restart
            service.wait_until("/ready", 200, timeout=15)
            status, _ = await post_order(session, service.url, order_body((1, 1)))
            assert status == 201
    finally:
        service.stop()

    statuses = {status for status, _ in results}
    assert 201 in statuses and 503 in statuses, statuses  # the crash really hit the burst
    assert statuses <= {201, 503}, statuses
    for status, body in results:
        if status == 503:
            assert body["error"]["code"] == "service_unavailable"
    acknowledged = {body["id"] for status, body in results if status == 201}
    stored = {str(r["id"]) for r in await pg.fetch(empty_db, "SELECT id FROM orders.orders")}
    assert acknowledged <= stored  # nothing acknowledged is lost
    lines = await pg.fetch(
        empty_db, "SELECT count(*) AS n, sum(quantity) AS q FROM orders.order_lines"
    )
    stock = await pg.fetch(empty_db, "SELECT stock FROM catalog.products WHERE id = 1")
    assert lines[0]["n"] == len(stored)  # no order without its line
    assert stock[0]["stock"] == 100000 - lines[0]["q"]  # stock taken == stock ordered


async def test_sigterm_during_a_burst_cuts_no_accepted_request(products, sql):
    await sql("UPDATE catalog.products SET stock = 100000 WHERE id = 1")
    service = start_service(
        "order_api", service_env("order_api", DRAIN_SECONDS="1", DB_POOL_MAX="10")
    )
    try:
        async with aiohttp.ClientSession() as session:
            burst = asyncio.gather(
                *(post_order(session, service.url, order_body((1, 1))) for _ in range(100))
            )
            await asyncio.sleep(0.05)
            service.terminate()
            results = await burst
        assert service.process.wait(timeout=30) == 0
    finally:
        service.stop()
    assert [status for status, _ in results] == [201] * 100
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 100
