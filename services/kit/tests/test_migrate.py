"""The migration runner: ordered, recorded, idempotent, safe to run concurrently."""

import asyncio
import uuid

import aiopg
import pytest

from kit.migrate import MigrationError, discover, migrate


@pytest.fixture
async def fresh_database(database_url):
    name = "mig_" + uuid.uuid4().hex[:10]
    async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
        await cur.execute(f"CREATE DATABASE {name}")
    yield database_url.rsplit("/", 1)[0] + "/" + name
    async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
        await cur.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def recorded(url: str) -> list[tuple[str, str]]:
    async with aiopg.connect(url) as conn, conn.cursor() as cur:
        await cur.execute("SELECT package, name FROM schema_migrations ORDER BY applied_at, name")
        return await cur.fetchall()


def test_files_are_discovered_in_package_then_version_order():
    names = [f"{m.package}/{m.name}" for m in discover()]
    assert names[0] == "product_api/0001_catalog.sql"
    assert names.index("product_api/0002_stock_functions.sql") < names.index(
        "order_api/0001_orders.sql"
    )


async def test_second_run_applies_nothing(fresh_database):
    first = await migrate(fresh_database)
    assert len(first) == len(discover())
    assert await migrate(fresh_database) == []
    assert len(await recorded(fresh_database)) == len(discover())


async def test_concurrent_runners_apply_each_file_once(fresh_database):
    results = await asyncio.gather(*(migrate(fresh_database) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(discover())]
    assert len(await recorded(fresh_database)) == len(discover())


async def test_an_edited_applied_file_is_an_error(fresh_database):
    await migrate(fresh_database)
    async with aiopg.connect(fresh_database) as conn, conn.cursor() as cur:
        await cur.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = '0001'")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(fresh_database)
