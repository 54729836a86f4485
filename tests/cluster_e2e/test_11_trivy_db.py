"""The vulnerability databases of the e2e cluster (hack/e2e/src/trivy-db, written with trivy-db's
own packages at the version trivy pins; no database can be downloaded here). trivy, built here at
the version the trivy Tasks pin, reads them offline, inside the cluster's network namespace: an
empty one finds nothing in the repository's pinned requirements; one holding a single HIGH
advisory for a pinned package finds exactly that and fails the HIGH,CRITICAL gate the Tasks use.
The Tasks keep trivy's normal database in real clusters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_e2e.kube import REPO, Cluster

TRIVY_ENV = "TECHCOMMERCE_E2E_TRIVY"
TRIVY_DB_ENV = "TECHCOMMERCE_E2E_TRIVY_DB"
PINNED = "aiohttp"


def pinned_version(package: str) -> str:
    for line in (REPO / "services/requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in services/requirements.txt")


@pytest.fixture
def tools() -> tuple[str, str]:
    if not (os.environ.get(TRIVY_ENV) and os.environ.get(TRIVY_DB_ENV)):
        pytest.skip(f"needs make e2e's trivy and trivy-db ({TRIVY_ENV}, {TRIVY_DB_ENV})")
    return os.environ[TRIVY_ENV], os.environ[TRIVY_DB_ENV]


def scan(trivy: str, cache: Path, source: Path) -> tuple[int, list[dict]]:
    report = cache / "report.json"
    result = subprocess.run(
        [trivy, "fs", "--cache-dir", str(cache), "--skip-db-update", "--skip-check-update",
         "--skip-version-check", "--disable-telemetry", "--offline-scan", "--scanners", "vuln",
         "--severity", "HIGH,CRITICAL", "--exit-code", "1", "--format", "json",
         "--output", str(report), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    found = [
        vulnerability
        for target in json.loads(report.read_text()).get("Results", [])
        for vulnerability in target.get("Vulnerabilities") or []
    ]
    return result.returncode, found


def test_trivy_reads_the_e2e_databases_offline(tools, tmp_path: Path, report):
    trivy, writer = tools
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "services/requirements.txt", source / "requirements.txt")
    version = pinned_version(PINNED)

    empty = tmp_path / "empty"
    subprocess.run([writer, str(empty / "db")], check=True, timeout=60)
    assert scan(trivy, empty, source) == (0, [])

    one = tmp_path / "one"
    advisory = f"pip|{PINNED}|<={version}|CVE-2099-0001|HIGH"
    subprocess.run([writer, str(one / "db"), advisory], check=True, timeout=60)
    status, found = scan(trivy, one, source)
    assert status == 1
    assert [(v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"], v["Severity"])
            for v in found] == [("CVE-2099-0001", PINNED, version, "HIGH")]  # fmt: skip
    report(f"trivy offline: empty database 0 findings; one advisory for {PINNED} {version} found")


def test_trivy_downloads_the_database_artifact_from_the_registry(tools, tmp_path: Path, report):
    """The way the trivy Tasks of this cluster get their database (cluster setting
    trivy-db-repository): hack/e2e/trivy_db_artifact.py pushes it to the in-cluster registry as
    trivy's OCI artifact, and trivy downloads it from there with --db-repository."""
    trivy, writer = tools
    registry = Cluster.from_env().registry
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "services/requirements.txt", source / "requirements.txt")
    version = pinned_version(PINNED)
    advisory = f"pip|{PINNED}|<={version}|CVE-2099-0002|CRITICAL"
    pushed = subprocess.run(
        [sys.executable, str(REPO / "hack/e2e/trivy_db_artifact.py"), writer, registry,
         "techcommerce-e2e/trivy-db:test-11", advisory],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    repository = pushed.stdout.strip()
    assert repository == f"{registry}/techcommerce-e2e/trivy-db:test-11"

    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [trivy, "fs", "--cache-dir", str(tmp_path / "cache"), "--db-repository", repository,
         "--insecure", "--skip-check-update", "--skip-version-check", "--disable-telemetry",
         "--scanners", "vuln", "--severity", "HIGH,CRITICAL", "--exit-code", "1",
         "--format", "json", "--output", str(report_file), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    found = [
        (v["VulnerabilityID"], v["PkgName"])
        for target in json.loads(report_file.read_text()).get("Results", [])
        for v in target.get("Vulnerabilities") or []
    ]
    assert found == [("CVE-2099-0002", PINNED)]
    report(f"trivy downloaded its database from {repository} and found the one advisory")
