"""podman helpers for the image tests: this project's podman settings, running containers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.commands import run_command

REPO = Path(__file__).resolve().parents[2]
CONTAINERS = REPO / "hack" / "images" / "containers"
PODMAN_ENV = {
    **os.environ,
    "CONTAINERS_CONF": str(CONTAINERS / "containers.conf"),
    "CONTAINERS_STORAGE_CONF": str(CONTAINERS / "storage.conf"),
}
# Service package -> the app name (service label, image name) and its contract port.
KNOWN = {
    "product_api": ("product-api", 5000),
    "order_api": ("order-api", 5001),
    "frontend": ("frontend", 3000),
}


def service_packages() -> list[str]:
    """Every service package that exists now: a services/<pkg>/__main__.py."""
    return sorted(p.parent.name for p in (REPO / "services").glob("*/__main__.py"))


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_command(["podman", *args], env=PODMAN_ENV, timeout=timeout, check=check)


def inspect_image(image: str) -> dict:
    return json.loads(podman("image", "inspect", image).stdout)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 3) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@dataclass
class Container:
    """A service container run the hardened way: read-only root, no capabilities, user 10001."""

    name: str
    image: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, image: str, name: str, env: dict[str, str]) -> Container:
        port = int(env["PORT"])
        args = [
            "run",
            "--detach",
            "--name",
            name,
            "--read-only",
            "--read-only-tmpfs=false",
            "--tmpfs",
            "/tmp:rw,nosuid,nodev,size=16m,mode=1777",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--user",
            "10001:10001",
            # The host's network namespace: the service listens on 127.0.0.1:PORT of this machine
            # (no port forwarding layer to configure), and a dummy DATABASE_URL on an unused
            # loopback port is refused at once.
            "--network",
            "host",
            # podman would schedule HEALTHCHECK through systemd timers, absent here; the tests
            # run the image's health command themselves.
            "--health-cmd",
            "none",
        ]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        podman(*args, image)
        return cls(name, image, port)

    def wait_until_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = http_get(self.url + "/health", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            state = self.state()
            if not state.get("Running"):
                raise AssertionError(
                    f"{self.name} exited ({state.get('ExitCode')}):\n{self.logs()}"
                )
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: /health did not answer in {timeout} s:\n{self.logs()}")

    def state(self) -> dict:
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def exec(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *argv, check=check)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)


def service_env(port: int) -> dict[str, str]:
    """What every service needs to pass its settings validation; no database behind it."""
    unused = free_port()  # bound and released: nothing listens there
    return {
        "PORT": str(port),
        "DATABASE_URL": f"postgresql://techcommerce:unused@127.0.0.1:{unused}/techcommerce",
        "ADMIN_TOKEN": "image-test-admin-token-0123456789",
        "ORDER_API_SERVICE_TOKEN": "image-test-order-api-service-token-0123456789",
        "ORDER_API_TOKEN": "image-test-order-api-service-token-0123456789",
        "SESSION_SECRET": "image-test-session-secret-0123456789abcdef",
        "PRODUCT_API_URL": f"http://127.0.0.1:{unused}",
        "ORDER_API_URL": f"http://127.0.0.1:{unused}",
        "DRAIN_SECONDS": "1",
        "LOG_LEVEL": "INFO",
    }
