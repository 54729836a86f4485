"""Build every service image once per test session (hack/images/build-images.sh), then run
them."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from images.image_lib import (
    KNOWN,
    PODMAN_ENV,
    REPO,
    Container,
    free_port,
    service_packages,
)

TAG = "test"


@pytest.fixture(scope="session")
def built_images(request: pytest.FixtureRequest) -> dict[str, str]:
    """package -> image reference, for every service package under services/."""
    packages = service_packages()
    assert packages, "no services/<package>/__main__.py found"
    started = time.monotonic()
    result = subprocess.run(
        [str(REPO / "hack" / "images" / "build-images.sh"), *packages],
        capture_output=True,
        text=True,
        env={**PODMAN_ENV, "TAG": TAG},
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    # Sizes go to the terminal even under output capture (the issue asks to print them).
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nimages built in {time.monotonic() - started:.0f} s:")
            for line in result.stdout.splitlines():
                reporter.write_line(f"  {line}")
    return {pkg: f"localhost/techcommerce/{KNOWN[pkg][0]}:{TAG}" for pkg in packages}


@pytest.fixture(scope="session", params=service_packages())
def package(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def image(built_images: dict[str, str], package: str) -> str:
    return built_images[package]


@pytest.fixture(scope="session")
def container(image: str, package: str) -> Iterator[Container]:
    from images.image_lib import service_env

    name = f"techcommerce-test-{KNOWN[package][0]}-{os.getpid()}"
    running = Container.start(image, name, service_env(free_port()))
    try:
        running.wait_until_serving()
        yield running
    finally:
        running.remove()
