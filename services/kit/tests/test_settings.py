"""Configuration is read from the environment and a bad value stops start-up with one clear line."""

import subprocess
import sys

import pytest

from kit.settings import ConfigError, Env, HttpSettings, Secret
from product_api.settings import load_settings
from support.procs import SERVICES_DIR

VALID = {
    "DATABASE_URL": "postgresql://u@127.0.0.1:1/db",
    "ADMIN_TOKEN": "a-long-enough-admin-token",
}


def test_valid_environment_gives_typed_settings():
    settings = load_settings({**VALID, "PORT": "8080", "DB_POOL_MAX": "7"})
    assert settings.http.port == 8080
    assert settings.database.pool_max == 7
    assert settings.http.drain_seconds == 5.0
    assert settings.http.event_loop == "asyncio"  # an API: aiopg under uvloop fails a crash test


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL is required"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a postgresql/postgres URL"),
        ({"PORT": "eighty"}, "PORT must be an integer, got 'eighty'"),
        ({"PORT": "70000"}, "PORT must be <= 65535"),
        ({"DB_POOL_MIN": "5", "DB_POOL_MAX": "2"}, "DB_POOL_MIN must be <= DB_POOL_MAX"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"EVENT_LOOP": "trio"}, "EVENT_LOOP must be one of uvloop, asyncio"),
        ({"ADMIN_TOKEN": "short"}, "ADMIN_TOKEN must be at least 16 characters"),
        ({"DRAIN_SECONDS": "15", "SHUTDOWN_TIMEOUT_SECONDS": "15"}, "must be <= 28"),
        ({"DRAIN_SECONDS": "soon"}, "DRAIN_SECONDS must be a finite number, got 'soon'"),
        ({"DRAIN_SECONDS": "nan"}, "DRAIN_SECONDS must be a finite number, got 'nan'"),
        ({"DB_ACQUIRE_TIMEOUT_SECONDS": "inf"}, "DB_ACQUIRE_TIMEOUT_SECONDS must be a finite"),
        ({"DB_POOL_MAX": "1" * 400}, "DB_POOL_MAX must be <= "),
    ],
)
def test_bad_variable_is_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**VALID, **overrides})


def test_secret_never_shows_in_repr_or_str():
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in repr(load_settings({**VALID, "ADMIN_TOKEN": "hunter2-hunter2-x"}))


def test_event_loop_defaults_to_uvloop_only_without_aiopg():
    assert HttpSettings.from_env(Env({}), default_port=3000).event_loop == "uvloop"
    assert load_settings(VALID).http.event_loop == "asyncio"
    assert load_settings({**VALID, "EVENT_LOOP": "uvloop"}).http.event_loop == "uvloop"


def test_defaults_apply_only_when_unset():
    env = Env({"X": "3"})
    assert env.int("X", 9) == 3
    assert env.int("Y", 9) == 9
    assert HttpSettings.from_env(Env({}), default_port=5000).port == 5000


def test_process_stops_with_one_line_naming_the_variable():
    result = subprocess.run(
        [sys.executable, "-m", "product_api"],
        env={"PYTHONPATH": str(SERVICES_DIR), "ADMIN_TOKEN": "super-secret-token-value"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["product-api: configuration error: DATABASE_URL is required but not set"]
    assert "super-secret-token-value" not in result.stdout + result.stderr
