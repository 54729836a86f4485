"""pytest fixtures over real components: PostgreSQL, the real apps, real HTTP.

One pytest plugin for every test tree: pyproject.toml loads it (`-p support.fixtures`), so its
fixtures need no import; its constants and helpers are imported by name.
"""

from __future__ import annotations

import aiopg
import psycopg2.extras
import pytest

from support import pg

ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123"
# order-api's service credential (ORDER_API_SERVICE_TOKEN), which the shop sends as ORDER_API_TOKEN.
SERVICE_TOKEN = "test-order-api-service-token-0123456789"
SERVICE_HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def service_env(package: str, **overrides: str) -> dict[str, str]:
    """A complete, valid environment for an API service (`product_api` or `order_api`) in tests;
    it connects to the database as the service's own role."""
    env = {
        "DATABASE_URL": pg.service_url(package),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "ORDER_API_SERVICE_TOKEN": SERVICE_TOKEN,
        "DB_ACQUIRE_TIMEOUT_SECONDS": "1",
        "DRAIN_SECONDS": "0",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        # product-api's read cache answers from memory until a change's notification arrives
        # (within milliseconds, not at once). Tests that change the catalog with SQL and read it
        # straight back through another app run without it; product-api's own tests switch it
        # on with PRODUCT_CACHE_ON.
        "PRODUCT_CACHE_MAX_ENTRIES": "0",
    }
    env.update(overrides)
    return env


PRODUCT_CACHE_ON = {"PRODUCT_CACHE_MAX_ENTRIES": "20000"}


@pytest.fixture
def database_url() -> str:
    return pg.database_url()


@pytest.fixture
async def empty_db(database_url: str) -> str:
    await pg.reset(database_url, extra_tables=("orders.idempotency_keys", "orders.orders"))
    return database_url


@pytest.fixture
async def sql(empty_db: str):
    """Run SQL against the test database: `await sql("SELECT ...", params)` -> list of dicts."""
    async with (
        aiopg.connect(empty_db) as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):

        async def run(statement: str, params: object = None) -> list[dict]:
            await cur.execute(statement, params)
            return await cur.fetchall() if cur.description else []

        yield run


@pytest.fixture
def pg_server():
    """The suite's own PostgreSQL server, for tests that stop and start it."""
    server = pg.server()
    if server is None:
        pytest.skip("TEST_DATABASE_URL points at a server this suite cannot stop")
    yield server
    server.start()  # whatever happened, leave the shared server running


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
