"""The migration runner: ordered, recorded, idempotent, safe to run concurrently, and it
recognises a database that the runner's previous home (kit.migrate) migrated."""

import asyncio
import os
import subprocess
import sys
import uuid

import aiopg
import pytest

from db.migrate import LEGACY_PACKAGES, MigrationError, discover
from db.migrate import migrate as migrate_with_roles
from support.pg import SERVICE_PASSWORDS
from support.procs import SERVICES_DIR


async def migrate(url: str) -> list[str]:
    return await migrate_with_roles(url, role_passwords=SERVICE_PASSWORDS)


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
        await cur.execute(
            "SELECT schema_name, name FROM schema_migrations ORDER BY applied_at, name"
        )
        return await cur.fetchall()


def test_files_are_discovered_in_schema_then_version_order():
    names = [f"{m.schema}/{m.name}" for m in discover()]
    assert names[0] == "catalog/0001_catalog.sql"
    assert names.index("catalog/0002_stock_functions.sql") < names.index("orders/0001_orders.sql")
    assert {m.schema for m in discover()} == {"catalog", "orders"}


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


async def test_a_database_migrated_by_kit_migrate_is_recognised_not_re_applied(fresh_database):
    """kit.migrate kept the files in product_api/ and order_api/ and recorded (package, version).
    Apply the files the way it did, with its bookkeeping table, then run this runner."""
    package_of = {schema: package for package, schema in LEGACY_PACKAGES.items()}
    legacy = [m for m in discover() if m.version in ("0001", "0002")]  # what kit.migrate knew
    async with aiopg.connect(fresh_database) as conn, conn.cursor() as cur:
        await cur.execute(
            "CREATE TABLE public.schema_migrations (package text NOT NULL, version text NOT NULL,"
            " name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (package, version))"
        )
        for m in legacy:
            await cur.execute(m.sql)
            await cur.execute(
                "INSERT INTO public.schema_migrations (package, version, name, checksum)"
                " VALUES (%s, %s, %s, %s)",
                (package_of[m.schema], m.version, m.name, m.checksum),
            )
    applied = await migrate(fresh_database)
    assert applied == [f"{m.schema}/{m.name}" for m in discover() if m not in legacy]
    rows = await recorded(fresh_database)
    assert sorted(rows) == sorted((m.schema, m.name) for m in discover())
    assert await migrate(fresh_database) == []


@pytest.mark.parametrize("missing", ["PRODUCT_API_DB_PASSWORD", "ORDER_API_DB_PASSWORD"])
def test_the_runner_refuses_to_start_without_a_service_password(missing):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SERVICES_DIR),
        "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db",
        "PRODUCT_API_DB_PASSWORD": "a-long-enough-password",
        "ORDER_API_DB_PASSWORD": "another-long-enough-password",
    }
    del env[missing]
    result = subprocess.run(
        [sys.executable, "-m", "db.migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"{missing} is required but not set" in result.stderr
