"""The service images, built for real with podman and run the hardened way.

Every image is run read-only (writable /tmp only), without capabilities, as user 10001, with a
DATABASE_URL that points at an unused port: /health must answer, /ready must say 503 for the
APIs (no database), the process must not be root, the image must hold no compiler or pip, and
SIGTERM must reach the app (a graceful stop, exit code 0).
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from images.image_lib import (
    KNOWN,
    REPO,
    Container,
    free_port,
    http_get,
    inspect_image,
    podman,
    service_env,
)

# 146 MB before uvloop (kit.serve's event loop, the frontend's default): its extension module is a
# 13 MB unstripped shared object, and neither base image has `strip` to shrink it (stripped it is
# 1.6 MB; installing binutils in the builder would need the distribution's package index at
# build time). The goal moved with it, once, from 150 MB.
SIZE_GOAL_MB = 165
EXPECTED_APP = {
    "product_api": {"kit", "db", "product_api"},
    "order_api": {"kit", "db", "order_api"},
    "frontend": {"kit", "frontend"},
}


def test_every_service_package_has_an_image(built_images: dict[str, str]) -> None:
    assert set(built_images) <= set(KNOWN), "a new service package needs a Dockerfile entry"
    for image in built_images.values():
        assert podman("image", "exists", image, check=False).returncode == 0


def test_image_config_user_command_and_healthcheck(image: str, package: str) -> None:
    inspected = inspect_image(image)
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    # Exec form: python itself is PID 1 (no /bin/sh -c wrapper that would swallow SIGTERM).
    assert config["Cmd"][0] == "python"
    assert f"SERVICE_MODULE={package}" in config["Env"]
    # podman shows the healthcheck beside Config (kept because the build uses --format docker).
    assert inspected["Healthcheck"]["Test"][:2] == ["CMD", "python"]


def test_health_answers(container: Container, package: str) -> None:
    status, body = http_get(container.url + "/health")
    assert status == 200
    assert json.loads(body)["service"] == KNOWN[package][0]


def test_ready_reports_the_missing_database(container: Container, package: str) -> None:
    status, body = http_get(container.url + "/ready")
    if package == "frontend":
        assert status == 200  # the frontend has no database; its readiness is its own
    else:
        assert status == 503
        assert json.loads(body)["checks"]["database"] == "unavailable"


def test_metrics_are_served(container: Container) -> None:
    status, body = http_get(container.url + "/metrics")
    assert status == 200
    assert b"# TYPE" in body


def test_the_image_healthcheck_command_passes(container: Container, image: str) -> None:
    test = inspect_image(image)["Healthcheck"]["Test"]
    result = container.exec(*test[1:])
    assert result.returncode == 0, result.stderr


def test_process_runs_as_non_root(container: Container) -> None:
    status = container.exec("cat", "/proc/1/status", check=True).stdout
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
    assert uids is not None
    assert set(uids.groups()) == {"10001"}
    cmdline = container.exec("cat", "/proc/1/cmdline", check=True).stdout.split("\0")
    assert os.path.basename(cmdline[0]) == "python"  # the app is PID 1
    capabilities = re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M)
    assert capabilities is not None and int(capabilities.group(1), 16) == 0


def test_root_filesystem_is_read_only_except_tmp(container: Container) -> None:
    denied = container.exec("sh", "-c", "touch /app/x || touch /opt/venv/x || echo denied")
    assert denied.stdout.strip() == "denied", denied.stdout
    assert container.exec("touch", "/tmp/x").returncode == 0


def test_no_compiler_or_package_installer_in_the_image(container: Container) -> None:
    tools = "gcc cc c++ g++ clang tcc make as ld pip pip3"
    found = container.exec("sh", "-c", f"for t in {tools}; do command -v $t; done; true")
    assert found.stdout.strip() == "", f"found in the image: {found.stdout}"
    assert container.exec("python", "-m", "pip", "--version").returncode != 0


def test_image_holds_the_pinned_dependencies_and_only_the_code_it_needs(
    container: Container, package: str
) -> None:
    listing = container.exec(
        "python",
        "-c",
        "import json, importlib.metadata as m, os; print(json.dumps({"
        "'dists': sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()),"
        "'app': {p: sorted(os.listdir('/app/' + p)) for p in os.listdir('/app')},"
        "'tests': [r for r, ds, fs in os.walk('/app') if os.path.basename(r) == 'tests'],"
        "'env_files': [f for r, ds, fs in os.walk('/app') for f in fs if '.env' in f]}))",
        check=True,
    )
    found = json.loads(listing.stdout)
    pins = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (REPO / "services" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    installed = {
        d.split("==")[0].lower().replace("_", "-"): d.split("==")[1] for d in found["dists"]
    }
    assert installed == pins
    assert set(found["app"]) == EXPECTED_APP[package]
    # No API image carries the other API's package; both carry db (migrations + runner).
    if package != "frontend":
        assert "migrations" in found["app"]["db"] and "migrate.py" in found["app"]["db"]
    assert found["tests"] == [] and found["env_files"] == []


def test_sigterm_stops_the_service_gracefully(image: str, package: str) -> None:
    env = service_env(free_port())
    name = f"techcommerce-test-stop-{KNOWN[package][0]}-{os.getpid()}"
    running = Container.start(image, name, env)
    try:
        running.wait_until_serving()
        started = time.monotonic()
        podman("stop", "--time", "20", name, timeout=60)
        elapsed = time.monotonic() - started
        state = running.state()
        logs = running.logs()
        assert state["ExitCode"] == 0, logs
        assert "shutdown: done" in logs
        # DRAIN_SECONDS=1: a stop that took the whole 20 s means SIGTERM never reached the app.
        assert elapsed < 10
    finally:
        running.remove()


@pytest.mark.parametrize("migrating_package", ["product_api", "order_api"])
def test_migrations_run_from_an_api_image_against_postgresql(
    built_images: dict[str, str], migrating_package: str, pg_url: str
) -> None:
    if migrating_package not in built_images:
        pytest.fail(f"{migrating_package} has no image")
    image = built_images[migrating_package]

    def migrate() -> int:
        """Run the migration Job's command in the image; return how many files it applied."""
        result = podman(
            "run", "--rm", "--read-only", "--cap-drop", "ALL", "--user", "10001:10001",
            "--network", "host", "--health-cmd", "none", "--env", f"DATABASE_URL={pg_url}",
            "--env", "PRODUCT_API_DB_PASSWORD=image-test-product-api",
            "--env", "ORDER_API_DB_PASSWORD=image-test-order-api",
            image, "python", "-m", "db.migrate",
            timeout=120,
        )  # fmt: skip
        for line in (result.stdout + result.stderr).splitlines():
            if line.startswith("{") and json.loads(line).get("msg") == "migrations up to date":
                return json.loads(line)["applied"]
        raise AssertionError(f"no summary line:\n{result.stdout}{result.stderr}")

    applied = migrate()
    rows = _query(pg_url, "SELECT schema_name, name FROM public.schema_migrations ORDER BY 1, 2")
    schemas = {row.split("|")[0] for row in rows}
    assert schemas == {"catalog", "orders"}, rows
    assert migrate() == 0  # idempotent: a second run applies nothing
    expected = sorted(
        f"{p.parent.name}|{p.name}" for p in (REPO / "services/db/migrations").glob("*/*.sql")
    )
    assert sorted(rows) == expected
    assert applied == len(expected)


def _query(url: str, sql: str) -> list[str]:
    import asyncio

    import aiopg

    async def run() -> list[str]:
        async with aiopg.connect(url) as conn, conn.cursor() as cur:
            await cur.execute(sql)
            return ["|".join(str(v) for v in row) for row in await cur.fetchall()]

    return asyncio.run(run())


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL server on 127.0.0.1 (hack/dev/localpg.py) for one test."""
    from localpg import LocalPostgres

    server = LocalPostgres.create()
    try:
        yield server.url
    finally:
        server.destroy()


def test_image_sizes(built_images: dict[str, str]) -> None:
    sizes = {image: inspect_image(image)["Size"] / 1_000_000 for image in built_images.values()}
    if os.environ.get("BASE_IMAGE"):
        pytest.skip(f"size goal applies to the local base; sizes: {sizes}")
    too_big = {image: round(mb, 1) for image, mb in sizes.items() if mb >= SIZE_GOAL_MB}
    assert not too_big, f"over {SIZE_GOAL_MB} MB: {too_big}"
