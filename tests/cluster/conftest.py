from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster.cluster_lib import Plan, dry_run, read_versions, render_staging_bootstrap


@pytest.fixture(scope="session")
def versions() -> dict[str, str]:
    return read_versions()


@pytest.fixture(scope="session")
def plan() -> Plan:
    return dry_run("cluster-up")


@pytest.fixture(scope="session")
def staging_render(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("staging")
    return render_staging_bootstrap(tmp)
