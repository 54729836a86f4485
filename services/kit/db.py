"""The PostgreSQL pool (aiopg): opened in cleanup_ctx, acquired under a timeout.

aiopg connections are in autocommit mode: a multi-statement change runs inside
`async with transaction(conn) as cur:` which commits on success and rolls back on any error
(cancellation included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiopg
import psycopg2
import psycopg2.extensions
from aiohttp import web

from kit.errors import DatabaseUnavailable
from kit.keys import DB_ACQUIRE_TIMEOUT, DB_POOL
from kit.settings import DatabaseSettings

log = logging.getLogger("kit.db")

CONNECT_TIMEOUT_SECONDS = 3


class DictCursor(psycopg2.extensions.cursor):
    """Rows as plain dicts, column name -> value, the way every service reads them.

    Each row is built by dict(zip(...)), in C: psycopg2's RealDictCursor sets every column
    through a Python-level __setitem__, which was half of product-api's CPU for a page of 20
    products read from the database (hack/bench/README.md)."""

    def fetchone(self) -> dict[str, Any] | None:
        row = super().fetchone()
        return None if row is None else dict(zip(self._names(), row, strict=True))

    def fetchmany(self, size: int | None = None) -> list[dict[str, Any]]:
        rows = super().fetchmany() if size is None else super().fetchmany(size)
        return self._dicts(rows)

    def fetchall(self) -> list[dict[str, Any]]:
        return self._dicts(super().fetchall())

    def _dicts(self, rows: list[tuple]) -> list[dict[str, Any]]:
        if not rows:
            return []
        names = self._names()
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _names(self) -> list[str]:
        return [column.name for column in self.description]


async def create_pool(settings: DatabaseSettings, *, application_name: str) -> aiopg.Pool:
    # statement_timeout bounds every query on the server; aiopg's `timeout` bounds it on our side.
    return await aiopg.create_pool(
        settings.url.reveal(),
        minsize=0,  # open lazily: the service starts (and is live) while the database is down
        maxsize=settings.pool_max,
        timeout=settings.statement_timeout_ms / 1000 + 1,
        pool_recycle=300,
        enable_hstore=False,
        enable_json=False,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name=application_name,
        options=f"-c statement_timeout={settings.statement_timeout_ms}",
    )


def pool_context(settings: DatabaseSettings, service: str) -> Callable[[web.Application], Any]:
    """A cleanup_ctx: the pool opens before the app serves and closes after it stops."""

    async def _pool(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(settings, application_name=service)
        app[DB_POOL] = pool
        app[DB_ACQUIRE_TIMEOUT] = settings.acquire_timeout_seconds
        await _warm_up(pool, settings.pool_min)
        yield
        pool.close()
        await pool.wait_closed()

    return _pool


async def _warm_up(pool: aiopg.Pool, count: int) -> None:
    """Open `count` connections now if the database is there; never fail start-up for it."""
    conns = []
    try:
        for _ in range(count):
            conns.append(await pool.acquire())
    except (psycopg2.Error, OSError, TimeoutError) as exc:
        log.warning("database not reachable at start-up: %s", type(exc).__name__)
    finally:
        for conn in conns:
            await pool.release(conn)


class connection:  # lower case: used like a function, `async with db.connection(app) as conn`
    """A pooled connection, or DatabaseUnavailable (503) within the acquire timeout.

    A class rather than a generator-based context manager: it runs on every request, and this
    is the cheaper of the two (see hack/bench/product_api.py).
    """

    __slots__ = ("_app", "_conn", "_pool")

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._pool = app[DB_POOL]
        self._conn: aiopg.Connection | None = None

    async def __aenter__(self) -> aiopg.Connection:
        pool = self._pool
        try:
            if pool.freesize:
                # An idle connection is handed over at once: no timer needed.
                self._conn = await pool.acquire()
            else:
                # Waiting for a connection (or opening one) is bounded by the acquire timeout.
                async with asyncio.timeout(self._app[DB_ACQUIRE_TIMEOUT]):
                    self._conn = await pool.acquire()
        except (TimeoutError, psycopg2.OperationalError) as exc:
            raise DatabaseUnavailable() from exc
        return self._conn

    async def __aexit__(self, *_exc: object) -> None:
        await self._pool.release(self._conn)


class transaction:  # lower case: used like a function, `async with db.transaction(conn) as tx`
    """One database transaction over a dict cursor; every error or cancellation rolls it back.

    Every statement costs a network round trip, which dominates the CPU cost of a request (see
    hack/bench/order_api.py), so BEGIN is sent together with the first statement; COMMIT is sent
    when the block ends without an error. A failed statement aborts the transaction on the
    server, and the exit sends ROLLBACK; a cancelled query closes the connection (aiopg), which
    rolls back on the server. (COMMIT deliberately does not travel with the last statement: the
    server would then commit a request that was cancelled while its statement ran.)
    """

    __slots__ = ("_conn", "_cursor", "_state")

    def __init__(self, conn: aiopg.Connection) -> None:
        self._conn = conn
        self._cursor: aiopg.Cursor | None = None
        self._state = "new"  # new -> open -> done

    async def __aenter__(self) -> transaction:
        self._cursor = await self._conn.cursor(cursor_factory=DictCursor)
        return self

    async def execute(self, sql: str, params: Any = None) -> None:
        if self._state == "done":
            raise RuntimeError("the transaction has already ended")
        statement = "BEGIN; " + sql if self._state == "new" else sql
        self._state = "open"
        await self._cursor.execute(statement, params)

    async def fetchone(self) -> Any:
        return await self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return await self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        try:
            if self._state == "open" and not self._conn.closed:
                if exc_type is None:
                    await self._cursor.execute("COMMIT")
                else:
                    # The original error is what matters; a broken connection is discarded.
                    with contextlib.suppress(psycopg2.Error):
                        await self._cursor.execute("ROLLBACK")
        finally:
            self._state = "done"
            self._cursor.close()


def cursor(conn: aiopg.Connection) -> Any:
    """A dict cursor in autocommit mode, for single-statement reads and writes."""
    return conn.cursor(cursor_factory=DictCursor)


async def ping(app: web.Application, within_seconds: float) -> bool:
    """True when the database answers `SELECT 1` within `within_seconds`."""
    try:
        async with asyncio.timeout(within_seconds), connection(app) as conn, cursor(conn) as cur:
            await cur.execute("SELECT 1")
            await cur.fetchone()
            return True
    except (DatabaseUnavailable, psycopg2.Error, OSError, TimeoutError):
        return False


# What the services' query functions take: a plain dict cursor (autocommit) or a transaction.
Executor = aiopg.Cursor | transaction
