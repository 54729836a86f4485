"""Readiness follows the database: false while it is down, true again when it is back,
without restarting the process; requests meanwhile get a fast 503 in the error shape."""

import time

from product_api.app import create_app
from product_api.settings import load_settings
from support.fixtures import service_env


async def test_readiness_and_503_follow_the_database(aiohttp_client, empty_db, pg_server):
    client = await aiohttp_client(create_app(load_settings(service_env("product_api"))))
    assert (await client.get("/ready")).status == 200
    assert (await client.get("/products")).status == 200

    pg_server.stop()
    ready = await client.get("/ready")
    assert ready.status == 503
    assert (await ready.json())["checks"]["database"] == "unavailable"
    started = time.monotonic()
    response = await client.get("/products")
    elapsed = time.monotonic() - started
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert (await response.json())["error"]["code"] == "service_unavailable"
    assert elapsed < 5  # bounded by the acquire/connect timeouts, never a hang
    assert (await client.get("/health")).status == 200  # liveness never asks the database

    pg_server.start()
    deadline = time.monotonic() + 10
    while (await client.get("/ready")).status != 200:
        assert time.monotonic() < deadline, "readiness did not recover"
    assert (await client.get("/products")).status == 200
