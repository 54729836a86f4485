"""product-api configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import DatabaseSettings, Env, HttpSettings, Secret

SERVICE = "product-api"
DEFAULT_PORT = 5000


@dataclass(frozen=True)
class Settings:
    http: HttpSettings
    database: DatabaseSettings
    admin_token: Secret


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        http=HttpSettings.from_env(env, default_port=DEFAULT_PORT),
        database=DatabaseSettings.from_env(env),
        admin_token=env.secret("ADMIN_TOKEN", min_length=16),
    )
