"""`python -m frontend` as a real process: ready without its APIs, JSON logs, SIGTERM drain."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from frontend.tests.browsing import closed_url, frontend_env
from support.procs import SERVICES_DIR, start_service


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_process_is_ready_without_its_apis_and_drains_on_sigterm():
    env = frontend_env(closed_url(), closed_url(), DRAIN_SECONDS="1", LOG_LEVEL="INFO")
    service = start_service("frontend", env)  # waits for /ready: it must not need the APIs
    try:
        assert status_of(service.url + "/ready/dependencies") == 503
        request = urllib.request.Request(
            service.url + "/", headers={"Accept": "text/html", "X-Request-ID": "proc-1"}
        )
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(request, timeout=3)
        assert failure.value.code == 503
        assert "short break" in failure.value.read().decode()
        service.terminate()
        service.wait_until("/ready", status=503, timeout=1)  # not ready at once, still serving
        assert service.process.wait(timeout=10) == 0
        output = service.output()
    finally:
        service.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["msg"] == "access" and line.get("path") == "/"]
    assert access and access[-1]["request_id"] == "proc-1" and access[-1]["status"] == 503
    assert any(line["msg"] == "shutdown: done" for line in lines)
    assert all(line["service"] == "frontend" for line in lines)


def test_a_configuration_error_stops_the_process_with_one_clear_line():
    env = frontend_env(closed_url(), closed_url(), SESSION_SECRET="too-short")
    result = subprocess.run(
        [sys.executable, "-m", "frontend"],
        env={**env, "PYTHONPATH": str(SERVICES_DIR)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "frontend: configuration error: SESSION_SECRET must be at least 32 characters long"
    )
    assert "too-short" not in result.stderr + result.stdout
