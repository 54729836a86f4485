"""The net under kit.validation: a value PostgreSQL refuses (out of range, not a number, a broken
constraint) becomes a precise 409/422 in the error shape, never a 500 (a 5xx from input alone
fires the error-ratio alert and burns the SLO)."""

import aiopg
import pytest
from aiohttp import web

from kit.app import create_base_app
from kit.settings import HttpSettings

HTTP = HttpSettings(
    port=0, log_level="INFO", max_body_bytes=2048, drain_seconds=0, shutdown_timeout_seconds=5
)
STATEMENTS = {
    "overflow": "SELECT 2147483647::integer + 1",
    "bigint-overflow": "SELECT 9223372036854775807::bigint + 1",
    "numeric-overflow": "SELECT (999999999999.99::numeric(14,2) * 100)::numeric(14,2)",
    "not-a-number": "SELECT 'abc'::integer",
    "division-by-zero": "SELECT 1/0",
}


def make_app(database_url: str) -> web.Application:
    async def run(request: web.Request) -> web.Response:
        async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
            await cur.execute(STATEMENTS[request.match_info["name"]])
        return web.json_response({})

    app = create_base_app("test-svc", HTTP)
    app.router.add_get("/run/{name}", run)
    return app


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("overflow", 409, "out_of_range"),
        ("bigint-overflow", 409, "out_of_range"),
        ("numeric-overflow", 409, "out_of_range"),
        ("not-a-number", 422, "invalid_value"),
        ("division-by-zero", 422, "invalid_value"),  # class 22 as well
    ],
)
async def test_a_value_the_database_refuses_is_4xx_never_5xx_which_would_fire_error_ratio_alert(
    aiohttp_client, database_url, name, status, code
):
    client = await aiohttp_client(make_app(database_url))
    response = await client.get(f"/run/{name}")
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_a_broken_constraint_is_409(aiohttp_client, database_url):
    async def insert(_request: web.Request) -> web.Response:
        async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
            await cur.execute("CREATE TEMP TABLE t (x integer CHECK (x > 0))")
            await cur.execute("INSERT INTO t VALUES (-1)")
        return web.json_response({})

    app = create_base_app("test-svc", HTTP)
    app.router.add_get("/insert", insert)
    client = await aiohttp_client(app)
    response = await client.get("/insert")
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "constraint_violation"
