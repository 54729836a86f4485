"""Shared pieces of the benchmarks: a database, pinned service processes, wrk runs.

Benchmarks print numbers; they are never timed tests. The service under test runs pinned to
CPU 0; wrk and PostgreSQL share CPU 1 (`taskset`), so the service gets one core to itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "services"), str(ROOT / "hack")]

from localpg import LocalPostgres, url_as  # noqa: E402

SERVICE_CPU = "0"
LOAD_CPU = "1"
ADMIN_TOKEN = "bench-admin-token-0123456789"


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        raise SystemExit(f"bench: {tool} is not installed (Debian package '{tool}')")


@contextmanager
def database():
    """DATABASE_URL if set, else a throwaway server pinned next to the load generator."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    server = LocalPostgres.create()
    try:
        pids = subprocess.run(
            ["pgrep", "-f", str(server.datadir)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            subprocess.run(["taskset", "-a", "-p", "-c", LOAD_CPU, pid], capture_output=True)
        yield server.url
    finally:
        server.destroy()


# The services' database roles' passwords: db.migrate sets them, each service connects as its own
# role (as in production), via role_url().
ROLE_PASSWORDS = {
    "PRODUCT_API_DB_PASSWORD": "bench-product-api-password",
    "ORDER_API_DB_PASSWORD": "bench-order-api-password",
}


def role_url(url: str, package: str) -> str:
    """The database at `url` as service `package`'s own role (product_api or order_api)."""
    return url_as(url, package, ROLE_PASSWORDS[f"{package.upper()}_DB_PASSWORD"])


def python_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'services'}{os.pathsep}{ROOT / 'hack'}")
    env.update(extra)
    return env


def run_module(module: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", module], env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def pinned_process(argv: list[str], env: dict[str, str], port: int):
    """Start argv on CPU 0 and wait until http://127.0.0.1:port/health answers."""
    process = subprocess.Popen(
        ["taskset", "-c", SERVICE_CPU, *argv],
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"bench: {argv} did not start") from None
                time.sleep(0.1)
        yield Target(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Target:
    """A running service: its base URL and the pid whose CPU time is measured."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        # /proc/PID/stat fields 14 and 15: user and system time in clock ticks
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class WrkResult:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    cpu_us_per_request: float

    def line(self) -> str:
        return (
            f"{self.name:44} {self.requests_per_second:9.0f} req/s"
            f"   p50 {self.p50_ms:7.2f} ms   p99 {self.p99_ms:7.2f} ms"
            f"   {self.cpu_us_per_request:6.0f} us CPU/req"
            f"   ({self.requests} requests{', ' + self.errors if self.errors else ''})"
        )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    name: str, target: Target, path: str, script: str, *, connections: int, seconds: int
) -> WrkResult:
    """Run wrk on CPU 1 with a Lua script; parse throughput and latency percentiles, and measure
    the service's CPU time per request (robust against other load on the machine)."""
    cpu_before = target.cpu_seconds()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        output = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
             "--latency", "-s", lua.name, target.url + path],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{match.group(1)} non-2xx")
    if match := re.search(r"Socket errors: (.*)", output):
        errors.append("socket errors: " + match.group(1))
    cpu_us = (target.cpu_seconds() - cpu_before) / max(total, 1) * 1e6
    return WrkResult(name, rps, p50, p99, total, "; ".join(errors), cpu_us)


def arguments(doc: str) -> argparse.Namespace:
    """The options every benchmark takes; also checks that wrk is installed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per case")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    need("wrk")
    return args
