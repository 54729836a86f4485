"""order-api configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import ApiSettings, Env, Secret

SERVICE = "order-api"
DEFAULT_PORT = 5001


@dataclass(frozen=True)
class Settings(ApiSettings):
    # The shop's credential: every /orders endpoint but the admin status change requires it.
    service_token: Secret
    idempotency_key_ttl_hours: int = 24


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **Settings.fields_from_env(env, default_port=DEFAULT_PORT),
        service_token=env.secret("ORDER_API_SERVICE_TOKEN", min_length=32),
        idempotency_key_ttl_hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1),
    )
