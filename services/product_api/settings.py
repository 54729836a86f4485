"""product-api configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import ApiSettings, Env

SERVICE = "product-api"
DEFAULT_PORT = 5000


# The read cache of GET /products/{id} (product_api/read_cache.py): at most this many products
# and this many bytes of them; 0 entries switches it off.
DEFAULT_CACHE_MAX_ENTRIES = 20_000
DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Settings(ApiSettings):
    cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **Settings.fields_from_env(env, default_port=DEFAULT_PORT),
        cache_max_entries=env.int(
            "PRODUCT_CACHE_MAX_ENTRIES", DEFAULT_CACHE_MAX_ENTRIES, minimum=0, maximum=1_000_000
        ),
        cache_max_bytes=env.int(
            "PRODUCT_CACHE_MAX_BYTES",
            DEFAULT_CACHE_MAX_BYTES,
            minimum=64 * 1024,
            maximum=1024 * 1024 * 1024,
        ),
    )
