"""frontend configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import Env, HttpSettings, Secret

SERVICE = "frontend"
DEFAULT_PORT = 3000


@dataclass(frozen=True)
class Settings:
    http: HttpSettings
    product_api_url: str
    order_api_url: str
    # The shop's credential at order-api (its ORDER_API_SERVICE_TOKEN): orders hold personal data.
    order_api_token: Secret
    session_secret: Secret
    # Whole budget of one call to an API (connect + send + read), retries not included.
    http_timeout_seconds: float
    # How long a catalog answer (product, page of products, categories) is reused; 0 = never.
    catalog_cache_seconds: float
    # Send the session cookie over HTTPS only (set it when TLS ends in front of the frontend).
    session_cookie_secure: bool


def _bool(env: Env, name: str, default: str) -> bool:
    value = env.choice(name, ("true", "false", "1", "0"), default)
    return value in ("true", "1")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        http=HttpSettings.from_env(env, default_port=DEFAULT_PORT),
        product_api_url=env.url("PRODUCT_API_URL", schemes=("http", "https")).rstrip("/"),
        order_api_url=env.url("ORDER_API_URL", schemes=("http", "https")).rstrip("/"),
        order_api_token=env.secret("ORDER_API_TOKEN", min_length=32),
        session_secret=env.secret("SESSION_SECRET", min_length=32),
        http_timeout_seconds=env.float("HTTP_TIMEOUT_SECONDS", 3.0, minimum=0.1, maximum=10),
        catalog_cache_seconds=env.float("CATALOG_CACHE_SECONDS", 2.0, minimum=0, maximum=300),
        session_cookie_secure=_bool(env, "SESSION_COOKIE_SECURE", "false"),
    )
