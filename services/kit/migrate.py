"""The one migration runner: `python -m kit.migrate` (also the Kubernetes migration Job).

Each service owns ordered SQL files in `<package>/migrations/NNNN_name.sql`. They are applied in
package order (the catalog first: the order schema calls its stock functions), each file in its
own transaction, and recorded in `public.schema_migrations`. A session-level advisory lock makes
concurrent runners wait for each other, so two pods starting at once apply each file once. A file
whose content changed after it was applied is an error, never silently skipped.
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

log = logging.getLogger("kit.migrate")

PACKAGES = ("product_api", "order_api")
ADVISORY_LOCK_KEY = 0x7EC0_0001
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    package: str
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(packages: tuple[str, ...] = PACKAGES) -> list[Migration]:
    migrations = []
    for package in packages:
        folder = importlib.resources.files(package) / "migrations"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_NAME.match(entry.name)
            if not match:
                raise ValueError(
                    f"{package}: migration file name {entry.name!r} is not NNNN_name.sql"
                )
            migrations.append(Migration(package, match.group(1), entry.name, entry.read_text()))
    return migrations


class MigrationError(Exception):
    pass


async def migrate(dsn: str, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Apply every pending migration; return the names applied (empty when up to date)."""
    migrations = discover(packages)
    applied_now: list[str] = []
    async with aiopg.connect(dsn, timeout=120) as conn, conn.cursor() as cur:
        await cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            await cur.execute(
                """
                CREATE TABLE IF NOT EXISTS public.schema_migrations (
                    package    text        NOT NULL,
                    version    text        NOT NULL,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (package, version)
                )
                """
            )
            await cur.execute("SELECT package, version, checksum FROM public.schema_migrations")
            done = {(row[0], row[1]): row[2] for row in await cur.fetchall()}
            for migration in migrations:
                key = (migration.package, migration.version)
                if key in done:
                    if done[key] != migration.checksum:
                        raise MigrationError(
                            f"{migration.package}/{migration.name} changed after it was applied"
                        )
                    continue
                async with cur.begin():
                    await cur.execute(migration.sql)
                    await cur.execute(
                        "INSERT INTO public.schema_migrations (package, version, name, checksum)"
                        " VALUES (%s, %s, %s, %s)",
                        (migration.package, migration.version, migration.name, migration.checksum),
                    )
                log.info("applied", extra={"migration": f"{migration.package}/{migration.name}"})
                applied_now.append(f"{migration.package}/{migration.name}")
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
