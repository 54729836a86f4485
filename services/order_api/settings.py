"""order-api configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import DatabaseSettings, Env, HttpSettings, Secret

SERVICE = "order-api"
DEFAULT_PORT = 5001


@dataclass(frozen=True)
class Settings:
    http: HttpSettings
    database: DatabaseSettings
    admin_token: Secret
    idempotency_key_ttl_hours: int


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        http=HttpSettings.from_env(env, default_port=DEFAULT_PORT),
        database=DatabaseSettings.from_env(env),
        admin_token=env.secret("ADMIN_TOKEN", min_length=16),
        idempotency_key_ttl_hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1),
    )
