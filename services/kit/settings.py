"""Configuration from environment variables, validated at start-up.

Every reader names the variable it reads, so a missing or bad value stops the process with one
line such as ``configuration error: DB_POOL_MAX must be an integer >= 1, got 'ten'``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ConfigError(Exception):
    """A missing or invalid environment variable; the message names it."""


class Secret:
    """A configuration value that must never reach a log line or a repr."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


_MISSING = object()


class Env:
    """Typed reads of environment variables; a failure raises ConfigError naming the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str, default: object) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            if default is _MISSING:
                raise ConfigError(f"{name} is required but not set")
            return None
        return value.strip()

    def str(self, name: str, default: object = _MISSING) -> str:
        value = self._raw(name, default)
        return default if value is None else value  # type: ignore[return-value]

    def secret(self, name: str, *, min_length: int = 1) -> Secret:
        value = self._raw(name, _MISSING)
        assert value is not None
        if len(value) < min_length:
            raise ConfigError(f"{name} must be at least {min_length} characters long")
        return Secret(value)

    def int(
        self,
        name: str,
        default: object = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        return self._number(name, default, int, "an integer", minimum, maximum)

    def float(
        self,
        name: str,
        default: object = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        return self._number(name, default, float, "a finite number", minimum, maximum)

    def _number(
        self,
        name: str,
        default: object,
        parse: Callable[[str], float],
        kind: str,
        minimum: float | None,
        maximum: float | None,
    ) -> Any:
        """The variable parsed by `parse` (int or float) within minimum..maximum; nan and the
        infinities, which every range comparison lets through, are refused."""
        value = self._raw(name, default)
        if value is None:
            return default
        try:
            number = parse(value)
        except ValueError:
            number = math.nan
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(f"{name} must be {kind}, got {value!r}")
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name} must be >= {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(f"{name} must be <= {maximum}, got {number}")
        return number

    def choice(self, name: str, choices: tuple[str, ...], default: object = _MISSING) -> str:
        value = self.str(name, default)
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: str, default: object = _MISSING, *, schemes: tuple[str, ...]) -> str:
        value = self.str(name, default)
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in schemes or not rest:
            raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got a malformed value")
        return value


@dataclass(frozen=True)
class HttpSettings:
    """How a service serves HTTP and shuts down; shared by every service."""

    port: int
    log_level: str
    max_body_bytes: int
    drain_seconds: float
    shutdown_timeout_seconds: float
    event_loop: str = "uvloop"

    @classmethod
    def from_env(
        cls, env: Env, *, default_port: int, default_event_loop: str = "uvloop"
    ) -> HttpSettings:
        settings = cls(
            port=env.int("PORT", default_port, minimum=1, maximum=65535),
            log_level=env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            max_body_bytes=env.int("MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            drain_seconds=env.float("DRAIN_SECONDS", 5.0, minimum=0, maximum=20),
            shutdown_timeout_seconds=env.float("SHUTDOWN_TIMEOUT_SECONDS", 15.0, minimum=1),
            event_loop=env.choice("EVENT_LOOP", ("uvloop", "asyncio"), default_event_loop),
        )
        # Kubernetes sends SIGKILL 30 s after SIGTERM: drain + in-flight wait + pool close must fit.
        if settings.drain_seconds + settings.shutdown_timeout_seconds > 28:
            raise ConfigError(
                "DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS must be <= 28 (30 s termination grace)"
            )
        return settings


@dataclass(frozen=True)
class DatabaseSettings:
    """The PostgreSQL pool: size, and the timeouts that keep a slow database from hanging us."""

    url: Secret
    pool_min: int
    pool_max: int
    acquire_timeout_seconds: float
    statement_timeout_ms: int

    @classmethod
    def from_env(cls, env: Env) -> DatabaseSettings:
        url = env.url("DATABASE_URL", schemes=("postgresql", "postgres"))
        settings = cls(
            url=Secret(url),
            pool_min=env.int("DB_POOL_MIN", 1, minimum=0, maximum=100),
            pool_max=env.int("DB_POOL_MAX", 10, minimum=1, maximum=200),
            acquire_timeout_seconds=env.float("DB_ACQUIRE_TIMEOUT_SECONDS", 2.0, minimum=0.05),
            statement_timeout_ms=env.int("DB_STATEMENT_TIMEOUT_MS", 5000, minimum=10),
        )
        if settings.pool_min > settings.pool_max:
            raise ConfigError("DB_POOL_MIN must be <= DB_POOL_MAX")
        return settings


@dataclass(frozen=True)
class ApiSettings:
    """What every API service needs: HTTP, its database, and the admin token of its writes."""

    http: HttpSettings
    database: DatabaseSettings
    admin_token: Secret

    @classmethod
    def fields_from_env(cls, env: Env, *, default_port: int) -> dict[str, object]:
        return {
            # asyncio, not uvloop: with aiopg 1.4 under uvloop, a database crash during a burst
            # leaves requests hanging (a closed poll handle stays registered for a reused file
            # descriptor; order_api test_orders_acknowledged_survive_a_database_crash fails).
            "http": HttpSettings.from_env(
                env, default_port=default_port, default_event_loop="asyncio"
            ),
            "database": DatabaseSettings.from_env(env),
            "admin_token": env.secret("ADMIN_TOKEN", min_length=16),
        }
