"""Benchmark the frontend: catalog and product pages at 16 connections, frontend on one core.

    .venv/bin/python hack/bench_frontend.py [--duration 15] [--connections 16] [--cache 2]

What it does, all on this machine and nothing left running afterwards:
1. a throwaway PostgreSQL (hack/localpg.py), migrations, the demo catalog (240 products);
2. product-api and order-api as real processes (`python -m ...`) on --others-cpu;
3. the frontend (`python -m frontend`) pinned with `taskset` to --frontend-cpu, one process;
4. `wrk` (Debian package, hack/deps/frontend.sh installs it), also on --others-cpu, twice:
   catalog pages (a rotation of filters, searches and pages) and product pages (a rotation over
   all 240 products); it prints pages/s and the p99 latency of each against the target.

CATALOG_CACHE_SECONDS is the frontend's default (2 s) unless --cache says otherwise; `--cache 0`
measures every page going to product-api. Target (issue 4): 500 pages/s, p99 under 60 ms.
The machine is shared: run it when nothing else is busy, and read the numbers as indicative.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from localpg import LocalPostgres, free_port, url_as

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "services"
TARGET_PAGES_PER_SECOND = 500
TARGET_P99_MS = 60.0
CATALOG_PATHS = [
    "/",
    "/?page=2",
    "/?category=audio",
    "/?category=laptops&sort=price",
    "/?q=wireless",
    "/?in_stock=1&sort=-price",
    "/?min_price=50&max_price=400",
    "/?category=phones&page=2",
]
LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout} s")


def start(
    module: str, env: dict[str, str], cpu: str, log: Path, profile: str | None = None
) -> subprocess.Popen:
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    command = ["taskset", "-c", cpu, sys.executable, *profiler, "-m", module]
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    url: str, paths: list[str], *, cpu: str, connections: int, seconds: int, script_dir: Path
) -> dict[str, float]:
    script = script_dir / "paths.lua"
    script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
    command = [
        "taskset",
        "-c",
        cpu,
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per page kind")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cache", default="2", help="CATALOG_CACHE_SECONDS of the frontend")
    parser.add_argument("--frontend-cpu", default="0")
    parser.add_argument("--others-cpu", default="1", help="APIs, PostgreSQL clients and wrk")
    parser.add_argument("--profile", help="run the frontend under cProfile, write stats here")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            say(f"{tool} is missing: run hack/deps/frontend.sh")
            return 2

    workdir = Path(tempfile.mkdtemp(prefix="bench-frontend-"))
    database = LocalPostgres.create()
    processes: list[subprocess.Popen] = []
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(SERVICES),
            "DATABASE_URL": database.url,
            "ADMIN_TOKEN": "bench-admin-token-0123456789",
            "ORDER_API_SERVICE_TOKEN": "bench-order-api-service-token-0123456789",
            "ORDER_API_TOKEN": "bench-order-api-service-token-0123456789",
            "LOG_LEVEL": "WARNING",
            "DRAIN_SECONDS": "0",
            "DB_POOL_MAX": "20",
        }
        # Migrate as the server's user; each API (and the seed) connects as its own role.
        passwords = {"product_api": "bench-product-api-password", "order_api": "bench-order-api-pw"}
        subprocess.run(
            [sys.executable, "-m", "db.migrate"],
            env={
                **env,
                "PRODUCT_API_DB_PASSWORD": passwords["product_api"],
                "ORDER_API_DB_PASSWORD": passwords["order_api"],
            },
            check=True,
        )
        role_env = {
            package: {**env, "DATABASE_URL": url_as(database.url, package, password)}
            for package, password in passwords.items()
        }
        subprocess.run(
            [sys.executable, "-m", "product_api.seed"], env=role_env["product_api"], check=True
        )
        ports = {name: free_port() for name in ("product", "order", "frontend")}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for module, name in (("product_api", "product"), ("order_api", "order")):
            processes.append(
                start(
                    module,
                    {**role_env[module], "PORT": str(ports[name])},
                    args.others_cpu,
                    workdir / f"{name}.log",
                )
            )
        frontend_env = {
            **env,
            "PORT": str(ports["frontend"]),
            "PRODUCT_API_URL": urls["product"],
            "ORDER_API_URL": urls["order"],
            "SESSION_SECRET": "bench-session-secret-0123456789abcdef",
            "CATALOG_CACHE_SECONDS": args.cache,
        }
        processes.append(
            start(
                "frontend", frontend_env, args.frontend_cpu, workdir / "frontend.log", args.profile
            )
        )
        for process, name in zip(processes, ("product", "order", "frontend"), strict=True):
            wait_ready(urls[name], process)
        say(
            f"frontend on cpu {args.frontend_cpu}, APIs and wrk on cpu {args.others_cpu}, "
            f"{args.connections} connections, {args.duration} s per page kind, "
            f"CATALOG_CACHE_SECONDS={args.cache}"
        )
        kinds = {
            "catalog page": CATALOG_PATHS,
            "product page": [f"/products/{n}" for n in range(1, 241)],
        }
        results = {}
        for kind, paths in kinds.items():
            # warm up: connections, template compilation, the API's caches
            run_wrk(
                urls["frontend"],
                paths,
                cpu=args.others_cpu,
                connections=args.connections,
                seconds=2,
                script_dir=workdir,
            )
            results[kind] = run_wrk(
                urls["frontend"],
                paths,
                cpu=args.others_cpu,
                connections=args.connections,
                seconds=args.duration,
                script_dir=workdir,
            )
        print()
        print(f"{'page':14} {'pages/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}  target")
        failed = False
        for kind, r in results.items():
            ok = r["rate"] >= TARGET_PAGES_PER_SECOND and r["p99"] < TARGET_P99_MS
            failed |= not ok or r["non_2xx"] > 0
            print(
                f"{kind:14} {r['rate']:9.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['non_2xx']:8d}"
                f"  {'met' if ok else 'MISSED'} (>= {TARGET_PAGES_PER_SECOND}/s,"
                f" p99 < {TARGET_P99_MS:.0f} ms); socket errors: {r['socket_errors']}"
            )
        return 1 if failed else 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        database.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
