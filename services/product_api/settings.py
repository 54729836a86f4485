"""product-api configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kit.settings import ApiSettings, Env

SERVICE = "product-api"
DEFAULT_PORT = 5000


@dataclass(frozen=True)
class Settings(ApiSettings):
    pass


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings(**Settings.fields_from_env(Env(environ), default_port=DEFAULT_PORT))
