"""The one migration runner: `python -m db.migrate` (also the Kubernetes migration Job).

Each schema has ordered SQL files in `db/migrations/<schema>/NNNN_name.sql`. They are applied in
SCHEMAS order (the catalog first: the order schema calls its stock functions), each file in its
own transaction, and recorded in `public.schema_migrations` as (schema_name, version). A
session-level advisory lock makes concurrent runners wait for each other, so two pods starting at
once apply each file once. A file whose content changed after it was applied is an error, never
silently skipped.

A database migrated by the runner's previous home (`kit.migrate`, which kept the files in the
service packages and keyed its records by package) is recognised: its records are renamed to the
schema they belong to, under the same lock, and nothing is applied twice (the files moved here
unchanged, so their checksums still match).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import logging
import re
import sys
from dataclasses import dataclass

import aiopg

from kit.logging import configure_logging
from kit.settings import ConfigError, Env

log = logging.getLogger("db.migrate")

SCHEMAS = ("catalog", "orders")
# The same key as kit.migrate's, so an old and a new runner never apply files at the same time.
ADVISORY_LOCK_KEY = 0x7EC0_0001
# kit.migrate recorded (package, version); each package owned one of the schemas.
LEGACY_PACKAGES = {"product_api": "catalog", "order_api": "orders"}
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    schema: str
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(schemas: tuple[str, ...] = SCHEMAS) -> list[Migration]:
    migrations = []
    for schema in schemas:
        folder = importlib.resources.files("db") / "migrations" / schema
        versions: set[str] = set()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_NAME.match(entry.name)
            if not match:
                raise ValueError(f"{schema}: file name {entry.name!r} is not NNNN_name.sql")
            if match.group(1) in versions:
                raise ValueError(f"{schema}: two migration files have version {match.group(1)}")
            versions.add(match.group(1))
            migrations.append(Migration(schema, match.group(1), entry.name, entry.read_text()))
    return migrations


class MigrationError(Exception):
    pass


async def _adopt_legacy_records(cur) -> None:
    """Rename kit.migrate's (package, version) records to (schema_name, version), once."""
    await cur.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name = 'schema_migrations' AND column_name = 'package'"
    )
    if not await cur.fetchone():
        return
    async with cur.begin():
        await cur.execute(
            "ALTER TABLE public.schema_migrations RENAME COLUMN package TO schema_name"
        )
        for package, schema in LEGACY_PACKAGES.items():
            await cur.execute(
                "UPDATE public.schema_migrations SET schema_name = %s WHERE schema_name = %s",
                (schema, package),
            )
    log.info("adopted the records of kit.migrate")


async def migrate(dsn: str, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    """Apply every pending migration; return the names applied (empty when up to date)."""
    migrations = discover(schemas)
    applied_now: list[str] = []
    async with aiopg.connect(dsn, timeout=120) as conn, conn.cursor() as cur:
        await cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            await _adopt_legacy_records(cur)
            await cur.execute(
                """
                CREATE TABLE IF NOT EXISTS public.schema_migrations (
                    schema_name text        NOT NULL,
                    version     text        NOT NULL,
                    name        text        NOT NULL,
                    checksum    text        NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (schema_name, version)
                )
                """
            )
            await cur.execute("SELECT schema_name, version, checksum FROM public.schema_migrations")
            done = {(row[0], row[1]): row[2] for row in await cur.fetchall()}
            for migration in migrations:
                key = (migration.schema, migration.version)
                path = f"{migration.schema}/{migration.name}"
                if key in done:
                    if done[key] != migration.checksum:
                        raise MigrationError(f"{path} changed after it was applied")
                    continue
                async with cur.begin():
                    await cur.execute(migration.sql)
                    await cur.execute(
                        "INSERT INTO public.schema_migrations"
                        " (schema_name, version, name, checksum) VALUES (%s, %s, %s, %s)",
                        (migration.schema, migration.version, migration.name, migration.checksum),
                    )
                log.info("applied", extra={"migration": path})
                applied_now.append(path)
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def main() -> int:
    configure_logging("migrate")
    try:
        dsn = Env().url("DATABASE_URL", schemes=("postgresql", "postgres"))
    except ConfigError as err:
        print(f"migrate: configuration error: {err}", file=sys.stderr)
        return 2
    applied = asyncio.run(migrate(dsn))
    log.info("migrations up to date", extra={"applied": len(applied)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
