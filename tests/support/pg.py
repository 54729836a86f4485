"""The test suite's one throwaway PostgreSQL, started on first use and destroyed at exit.

TEST_DATABASE_URL points the suite at an existing server instead (tests that stop and start the
server are then skipped, since they cannot control it); it must be a role that may run the
migrations (create schemas and roles).

`database_url()` is the migrator's (the tests' own checks and set-up use it); the services under
test connect as their own roles, `service_url("product_api")` / `service_url("order_api")`, with
exactly the privileges the migrations grant them in production.
"""

from __future__ import annotations

import asyncio
import atexit
import os

import aiopg
import psycopg2.extras

from db.migrate import migrate
from localpg import LocalPostgres, url_as

# The service roles' passwords in the test database (db.migrate sets them).
SERVICE_PASSWORDS = {
    "product_api": "test-product-api-password",
    "order_api": "test-order-api-password",
}

_server: LocalPostgres | None = None
_url: str | None = None


def server() -> LocalPostgres | None:
    database_url()
    return _server


def database_url() -> str:
    """A migrated database, shared by the whole test session."""
    global _server, _url
    if _url is None:
        external = os.environ.get("TEST_DATABASE_URL")
        if external:
            _url = external
        else:
            _server = LocalPostgres.create()
            atexit.register(_server.destroy)
            _url = _server.url
        asyncio.run(migrate(_url, role_passwords=SERVICE_PASSWORDS))
    return _url


def service_url(role: str) -> str:
    """The shared test database as a service's own role: `product_api` or `order_api`."""
    return url_as(database_url(), role, SERVICE_PASSWORDS[role])


TABLES_TO_EMPTY = (
    "catalog.products",
    "catalog.categories",
)


async def reset(url: str, extra_tables: tuple[str, ...] = ()) -> None:
    """Empty the data tables (identities restart); the schema stays."""
    async with aiopg.connect(url) as conn, conn.cursor() as cur:
        existing = []
        for table in (*extra_tables, *TABLES_TO_EMPTY):
            await cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if (await cur.fetchone())[0]:
                existing.append(table)
        await cur.execute(f"TRUNCATE {', '.join(existing)} RESTART IDENTITY CASCADE")


async def fetch(url: str, statement: str, params: object = None) -> list[dict]:
    """One statement on a fresh connection (for checks after the server was restarted)."""
    async with (
        aiopg.connect(url) as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute(statement, params)
        return await cur.fetchall() if cur.description else []
