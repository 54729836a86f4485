"""The live-cluster suite (`make e2e`, hack/e2e/run.sh). Its tests need the e2e cluster that
run.sh brings up and names in TECHCOMMERCE_E2E_CLUSTER; without it (a plain `make test`) they are
skipped with that reason. test_teardown.py runs only after the teardown
(TECHCOMMERCE_E2E_TORN_DOWN=1). test_shared_path.py needs no cluster and always runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_e2e.kube import NAMESPACE, RUN_DIR_ENV, Cluster

HERE = Path(__file__).resolve().parent
OFFLINE = {"test_shared_path.py"}
AFTER_TEARDOWN = {"test_teardown.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = bool(os.environ.get(RUN_DIR_ENV))
    torn_down = os.environ.get("TECHCOMMERCE_E2E_TORN_DOWN") == "1"
    for item in items:
        path = Path(str(item.fspath))
        if path.parent != HERE or path.name in OFFLINE:
            continue
        if path.name in AFTER_TEARDOWN:
            if not torn_down:
                item.add_marker(pytest.mark.skip(reason="runs after the e2e teardown (make e2e)"))
        elif not live:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs the live e2e cluster: make e2e (sets {RUN_DIR_ENV})"
                )
            )


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    return Cluster.from_env()


@pytest.fixture(scope="session")
def seeded(cluster: Cluster) -> Cluster:
    """The demo catalog loaded the documented way (manifests/README.md): product_api.seed in a
    product-api pod. Idempotent."""
    proc = cluster.kubectl(
        "-n",
        NAMESPACE,
        "exec",
        "deploy/product-api",
        "--",
        "python",
        "-m",
        "product_api.seed",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return cluster


@pytest.fixture
def frontend_url(cluster: Cluster) -> Iterator[str]:
    with cluster.port_forward("svc/frontend", 80) as url:
        yield url


@pytest.fixture(scope="session")
def report():
    """Record a measured figure (request counts, timings) in the run's report
    (TECHCOMMERCE_E2E_REPORT; hack/e2e/run.sh prints it at the end)."""
    path = os.environ.get("TECHCOMMERCE_E2E_REPORT")

    def write(line: str) -> None:
        print(line)
        if path:
            with open(path, "a", encoding="utf-8") as file:
                file.write(line + "\n")

    return write
