"""kit.db.transaction: BEGIN rides with the first statement, COMMIT is sent at exit; any error
rolls everything back and leaves the connection clean for the pool."""

import aiopg
import psycopg2
import psycopg2.extensions
import pytest

from kit import db


@pytest.fixture
async def conn(empty_db, sql):
    await sql("CREATE TABLE IF NOT EXISTS public.tx_probe (n integer PRIMARY KEY)")
    await sql("TRUNCATE public.tx_probe")
    async with aiopg.connect(empty_db) as connection:
        yield connection
    await sql("DROP TABLE public.tx_probe")


async def rows(sql) -> list[int]:
    return [r["n"] for r in await sql("SELECT n FROM public.tx_probe ORDER BY n")]


def idle(connection) -> bool:
    status = connection.raw.get_transaction_status()
    return status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


async def test_statements_commit_together_at_exit(conn, sql):
    async with db.transaction(conn) as tx:
        await tx.execute("INSERT INTO public.tx_probe VALUES (1)")
        await tx.execute("INSERT INTO public.tx_probe VALUES (2)")
        assert await rows(sql) == []  # not visible to others before the commit
    assert await rows(sql) == [1, 2]
    assert idle(conn)


async def test_no_statement_after_the_transaction_ended(conn, sql):
    async with db.transaction(conn) as tx:
        await tx.execute("INSERT INTO public.tx_probe VALUES (1)")
    with pytest.raises(RuntimeError, match="already ended"):
        await tx.execute("INSERT INTO public.tx_probe VALUES (2)")
    assert await rows(sql) == [1]
    assert idle(conn)


async def test_an_error_in_the_block_rolls_back(conn, sql):
    with pytest.raises(ValueError):
        async with db.transaction(conn) as tx:
            await tx.execute("INSERT INTO public.tx_probe VALUES (1)")
            raise ValueError("business rule says no")
    assert await rows(sql) == []
    assert idle(conn)


async def test_a_failing_statement_commits_nothing(conn, sql):
    with pytest.raises(psycopg2.errors.UniqueViolation):
        async with db.transaction(conn) as tx:
            await tx.execute("INSERT INTO public.tx_probe VALUES (1)")
            await tx.execute("INSERT INTO public.tx_probe VALUES (1)")
    assert await rows(sql) == []
    assert idle(conn)
