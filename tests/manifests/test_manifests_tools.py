"""Offline validators over the rendered overlays and the Dockerfile.

- kubernetes-validate --strict (unknown fields fail) for the oldest Kubernetes we support (1.29)
  and the newest the pinned kubernetes-validate knows;
- checkov: zero failed checks; every skip is an inline annotation that gives its reason;
- hadolint on the Dockerfile: no finding at all (no ignores).
Both tools live in their own venvs under .venv-tools/ (hack/dev/deps/manifests.sh installs them).
Each tool is also shown a broken manifest, so a tool that silently checks nothing fails here.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from manifests.manifest_lib import CHECKOV, HADOLINT, KUBERNETES_VALIDATE, REPO, Rendered

OLDEST_SUPPORTED = "1.29"


def newest_kubernetes() -> str:
    schemas = KUBERNETES_VALIDATE.parents[1].glob(
        "lib/python3*/site-packages/kubernetes_validate/kubernetes-json-schema/v*-local-strict"
    )
    versions = [tuple(int(x) for x in re.findall(r"\d+", p.name)[:2]) for p in schemas]
    assert versions, "kubernetes-validate ships no schemas: run hack/dev/deps/manifests.sh"
    major, minor = max(versions)
    return f"{major}.{minor}"


def kubernetes_validate(version: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--quiet", "-k", version, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def checkov(*args: str) -> dict:
    result = subprocess.run(
        [str(CHECKOV), "--skip-download", "--output", "json", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    merged: dict = {"passed": [], "failed": [], "skipped": [], "parsing_errors": 0}
    for part in reports:
        merged["parsing_errors"] += part.get("summary", {}).get("parsing_errors", 0)
        results = part.get("results", {})
        merged["passed"] += results.get("passed_checks", [])
        merged["failed"] += results.get("failed_checks", [])
        merged["skipped"] += results.get("skipped_checks", [])
    return merged


def _describe(checks: list[dict]) -> str:
    return "\n".join(
        f"{c['check_id']} {c.get('resource')} {c.get('file_path')}: {c.get('check_name')}"
        for c in checks
    )


def test_the_newest_schema_is_at_least_the_oldest_supported() -> None:
    newest = tuple(int(x) for x in newest_kubernetes().split("."))
    assert newest >= (1, 29)


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, "newest"])
def test_kubernetes_validate_strict(rendered: Rendered, version: str) -> None:
    version = newest_kubernetes() if version == "newest" else version
    result = kubernetes_validate(version, rendered.path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_rejects_an_unknown_field(rendered_all, tmp_path: Path) -> None:
    objects = copy.deepcopy(rendered_all["staging"].objects)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all(objects))
    result = kubernetes_validate(OLDEST_SUPPORTED, broken)
    assert result.returncode != 0
    assert "readinessProbes" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov_manifests(rendered_all: dict[str, Rendered]) -> dict:
    directory = next(iter(rendered_all.values())).path.parent
    return checkov("--framework", "kubernetes", "--directory", str(directory))


def test_checkov_passes_every_rendered_overlay(checkov_manifests: dict) -> None:
    assert not checkov_manifests["failed"], _describe(checkov_manifests["failed"])
    assert checkov_manifests["parsing_errors"] == 0
    assert len(checkov_manifests["passed"]) > 100  # it really looked at the workloads


def test_checkov_passes_the_dockerfile() -> None:
    report = checkov("--framework", "dockerfile", "--file", "services/Dockerfile")
    assert not report["failed"], _describe(report["failed"])
    assert report["passed"]
    _assert_reasoned(report["skipped"])


def test_every_checkov_skip_is_inline_with_a_reason(checkov_manifests: dict) -> None:
    _assert_reasoned(checkov_manifests["skipped"])


def _assert_reasoned(skipped: list[dict]) -> None:
    for check in skipped:
        reason = check.get("check_result", {}).get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{check['check_id']} skipped without a reason: {reason!r}"


def test_checkov_fails_a_weakened_workload(rendered_all, tmp_path: Path) -> None:
    objects = copy.deepcopy(rendered_all["staging"].of_kind("Deployment"))
    context = objects[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    context["readOnlyRootFilesystem"] = False
    context["allowPrivilegeEscalation"] = True
    (tmp_path / "weak.yaml").write_text(yaml.safe_dump_all(objects))
    report = checkov("--framework", "kubernetes", "--directory", str(tmp_path))
    failed = {c["check_id"] for c in report["failed"]}
    assert {"CKV_K8S_20", "CKV_K8S_22"} <= failed


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, check=False
    )


def test_hadolint_passes_the_dockerfile() -> None:
    result = hadolint(REPO / "services" / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_finds_a_careless_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nRUN pip install aiohttp\nCMD python -m app\n")
    result = hadolint(dockerfile)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3025"):  # latest tag, unpinned pip, shell-form CMD
        assert rule in result.stdout
