"""`make run`: the whole shop on this machine, stopped cleanly with Ctrl-C.

1. PostgreSQL: DATABASE_URL if you set it (a role that may run the migrations: create schemas
   and roles), else a throwaway server this script starts (data in a fresh directory under /tmp,
   removed on exit);
2. migrations (`python -m db.migrate` as that role, which also gives the services' roles their
   passwords) and the demo catalog (as product-api's role);
3. every service that exists, on its standard port (override with PRODUCT_API_PORT,
   ORDER_API_PORT, FRONTEND_PORT); prints the URLs, then a line `ready` once all answer /ready;
   Each API connects as its own database role (product_api, order_api) with exactly the
   privileges the migrations grant it; the passwords are per-checkout secrets in .run/
   (or PRODUCT_API_DB_PASSWORD / ORDER_API_DB_PASSWORD).
4. Ctrl-C (or SIGTERM): stops the services (SIGTERM, they drain), then PostgreSQL. Nothing is
   left running. If a service dies, everything stops and the exit code is 1.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from localpg import LocalPostgres, url_as

ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = ROOT / "services"
RUN_DIR = ROOT / ".run"

# package, display name, port variable, default port
SERVICES = (
    ("product_api", "product-api", "PRODUCT_API_PORT", 5000),
    ("order_api", "order-api", "ORDER_API_PORT", 5001),
    ("frontend", "frontend", "FRONTEND_PORT", 3000),
)
READY_TIMEOUT_SECONDS = 30
# Each API's database role (created by the migrations) and the variable holding its password.
DATABASE_ROLES = {
    "product_api": "PRODUCT_API_DB_PASSWORD",
    "order_api": "ORDER_API_DB_PASSWORD",
}


def say(message: str) -> None:
    print(f"run: {message}", flush=True)


def python_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVICES_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_module(module: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", module], env=env, check=True)


def local_secret(name: str) -> str:
    """A per-checkout development secret kept in .run/ (gitignored), never printed."""
    RUN_DIR.mkdir(exist_ok=True)
    path = RUN_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {READY_TIMEOUT_SECONDS} s")


def main() -> int:
    database: LocalPostgres | None = None
    processes: list[tuple[str, subprocess.Popen]] = []
    stop_requested = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            say("using DATABASE_URL from the environment")
        else:
            database = LocalPostgres.create()
            database_url = database.url
            say(f"started a throwaway PostgreSQL on 127.0.0.1:{database.port}")
        passwords = {
            variable: os.environ.get(variable) or local_secret(variable.lower().replace("_", "-"))
            for variable in DATABASE_ROLES.values()
        }
        service_database = {
            package: url_as(database_url, package, passwords[variable])
            for package, variable in DATABASE_ROLES.items()
        }
        # The shop's credential at order-api: order-api checks it, the frontend sends it.
        order_api_token = os.environ.get("ORDER_API_TOKEN") or local_secret("order-api-token")
        base = python_env(
            ORDER_API_SERVICE_TOKEN=order_api_token,
            ORDER_API_TOKEN=order_api_token,
            ADMIN_TOKEN=os.environ.get("ADMIN_TOKEN") or local_secret("admin-token"),
            SESSION_SECRET=os.environ.get("SESSION_SECRET") or local_secret("session-secret"),
            DRAIN_SECONDS=os.environ.get("DRAIN_SECONDS", "0"),
        )
        base.pop("DATABASE_URL", None)  # each API gets its own below
        run_module("db.migrate", dict(base, DATABASE_URL=database_url, **passwords))
        run_module("product_api.seed", dict(base, DATABASE_URL=service_database["product_api"]))

        ports = {name: int(os.environ.get(var, default)) for _, name, var, default in SERVICES}
        base["PRODUCT_API_URL"] = f"http://127.0.0.1:{ports['product-api']}"
        base["ORDER_API_URL"] = f"http://127.0.0.1:{ports['order-api']}"
        for package, name, _var, _default in SERVICES:
            if not (SERVICES_DIR / package / "__main__.py").exists():
                continue
            env = dict(base, PORT=str(ports[name]))
            if package in service_database:
                env["DATABASE_URL"] = service_database[package]
            process = subprocess.Popen([sys.executable, "-m", package], env=env)
            processes.append((name, process))
        for name, process in processes:
            url = f"http://127.0.0.1:{ports[name]}"
            wait_ready(url, process)
            say(f"{name:12} {url}")
        if any(name == "frontend" for name, _ in processes):
            say(f"shop: http://127.0.0.1:{ports['frontend']}  <- open this in a browser")
        say(f"admin token for the APIs is in {RUN_DIR / 'admin-token'}")
        say("Ctrl-C stops everything")
        print("ready", flush=True)
        while not stop_requested:
            for name, process in processes:
                if process.poll() is not None:
                    say(f"{name} exited with code {process.returncode}; stopping everything")
                    exit_code = 1
                    stop_requested = True
            time.sleep(0.2)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        say(f"error: {err}")
        exit_code = 1
    finally:
        for _name, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if database is not None:
            database.destroy()
        say("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
