"""The whole shop as a person meets it: the three services as real processes (`python -m ...`)
on a real, seeded PostgreSQL, driven by a real headless Chromium through chromedriver.

Chromium and chromedriver are Debian's (hack/dev/deps/frontend.sh installs them); selenium talks to
/usr/bin/chromedriver directly, so nothing is downloaded at test time. Screenshots of the main
pages land in test-artifacts/e2e/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver

from support import pg
from support.browser import chromium
from support.fixtures import SERVICE_TOKEN, service_env
from support.procs import SERVICES_DIR, ServiceProcess, start_service

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
AXE_SCRIPT = ROOT / ".venv-tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SESSION_SECRET = "e2e-session-secret-0123456789abcdef0123"


@dataclass
class Stack:
    shop_url: str
    database_url: str
    services: list[ServiceProcess]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    database_url = pg.database_url()
    asyncio.run(pg.reset(database_url, extra_tables=("orders.idempotency_keys", "orders.orders")))
    subprocess.run(
        [sys.executable, "-m", "product_api.seed"],
        env={
            **os.environ,
            "PYTHONPATH": str(SERVICES_DIR),
            "DATABASE_URL": pg.service_url("product_api"),
        },
        check=True,
        capture_output=True,
    )
    services: list[ServiceProcess] = []
    try:
        services.append(start_service("product_api", service_env("product_api")))
        services.append(start_service("order_api", service_env("order_api")))
        frontend_env = {
            "PRODUCT_API_URL": services[0].url,
            "ORDER_API_URL": services[1].url,
            "ORDER_API_TOKEN": SERVICE_TOKEN,
            "SESSION_SECRET": SESSION_SECRET,
            "CATALOG_CACHE_SECONDS": "0",
            "DRAIN_SECONDS": "0",
            "SHUTDOWN_TIMEOUT_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
        }
        services.append(start_service("frontend", frontend_env))
        yield Stack(services[2].url, database_url, services)
    finally:
        for service in reversed(services):
            service.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium(1280, 1000)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def phone() -> Iterator[webdriver.Chrome]:
    """A phone-sized window (390 x 844 CSS pixels)."""
    driver = chromium(390, 844)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(driver: webdriver.Chrome, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        # full page: grow the window to the document height for the picture
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.execute_script("return window.innerWidth")
        size = driver.get_window_size()
        driver.set_window_size(size["width"], max(size["height"], min(height + 150, 4000)))
        assert driver.save_screenshot(str(path)), f"could not save {path}"
        driver.set_window_size(size["width"], size["height"])
        assert width > 0
        return path

    return take


@pytest.fixture(scope="session")
def accessibility():
    """Run axe-core's WCAG 2 A/AA rules on the current page; the violations found."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run hack/dev/deps/frontend.sh"
    source = AXE_SCRIPT.read_text()

    def violations(driver: webdriver.Chrome) -> list[str]:
        driver.execute_script(source)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa',"
            " 'wcag21a', 'wcag21aa']}}).then(r => done(r.violations.map("
            "v => v.impact + ' ' + v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
            ")).catch(e => done(['axe failed: ' + e]));"
        )
        return result

    return violations
