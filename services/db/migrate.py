"""The one migration runner: `python -m db.migrate` (also the Kubernetes migration Job).

Each schema has ordered SQL files in `db/migrations/<schema>/NNNN_name.sql`. They are applied in
SCHEMAS order (the catalog first: the order schema calls its stock functions), each file in its
own transaction, and recorded in `public.schema_migrations` as (schema_name, version). A
session-level advisory lock makes concurrent runners wait for each other, so two pods starting at
once apply each file once. A file whose content changed after it was applied is an error, never
silently skipped.

Every service connects with its own role (db/migrations/catalog/0003_privileges.sql creates them
and holds their grants). Their passwords are not in any file: after the migrations the runner gives
each login role LOGIN and the password from its variable in SERVICE_ROLES (stored as a SCRAM
verifier computed here, so the password itself never reaches the server or its logs). Running again
with a new value rotates it.

A database migrated by the runner's previous home (`kit.migrate`, which kept the files in the
service packages and keyed its records by package) is recognised: its records are renamed to the
schema they belong to, under the same lock, and nothing is applied twice (the files moved here
unchanged, so their checksums still match).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.resources
import logging
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import aiopg
from psycopg2 import sql

from kit.logging import configure_logging
from kit.settings import ConfigError, Env

log = logging.getLogger("db.migrate")

SCHEMAS = ("catalog", "orders")
# The same key as kit.migrate's, so an old and a new runner never apply files at the same time.
ADVISORY_LOCK_KEY = 0x7EC0_0001
# kit.migrate recorded (package, version); each package owned one of the schemas.
LEGACY_PACKAGES = {"product_api": "catalog", "order_api": "orders"}
# The services' login roles and the variable that holds each one's password.
SERVICE_ROLES = {"product_api": "PRODUCT_API_DB_PASSWORD", "order_api": "ORDER_API_DB_PASSWORD"}
SCRAM_ITERATIONS = 4096
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


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / RFC 7677)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


async def _set_service_passwords(cur, passwords: Mapping[str, str]) -> None:
    for role in SERVICE_ROLES:
        await cur.execute(
            sql.SQL(
                "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                " NOBYPASSRLS PASSWORD %s"
            ).format(sql.Identifier(role)),
            (scram_verifier(passwords[role]),),
        )


async def migrate(
    dsn: str, *, role_passwords: Mapping[str, str], schemas: tuple[str, ...] = SCHEMAS
) -> list[str]:
    """Apply every pending migration and set the service roles' passwords; return the names
    applied (empty when up to date)."""
    missing = sorted(set(SERVICE_ROLES) - set(role_passwords))
    if missing:
        raise ValueError(f"no password for {', '.join(missing)}")
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
            await _set_service_passwords(cur, role_passwords)
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def main() -> int:
    configure_logging("migrate")
    env = Env()
    try:
        dsn = env.url("DATABASE_URL", schemes=("postgresql", "postgres"))
        passwords = {
            role: env.secret(variable, min_length=16).reveal()
            for role, variable in SERVICE_ROLES.items()
        }
    except ConfigError as err:
        print(f"migrate: configuration error: {err}", file=sys.stderr)
        return 2
    applied = asyncio.run(migrate(dsn, role_passwords=passwords))
    log.info("migrations up to date", extra={"applied": len(applied)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
