"""The plan checks catch the mistakes they exist for: each test breaks a copy of cluster-up in
one realistic way, takes its dry-run plan, and expects the check to fail."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from cluster.cluster_lib import REPO, Plan, dry_run, read_versions
from cluster.plan_checks import (
    check_creates_follow_checks,
    check_namespaces_exist_before_use,
    check_urls_pinned,
)


def broken_plan(tmp_path: Path, old: str, new: str) -> Plan:
    """The dry-run plan of a copy of hack/ whose cluster-up has OLD replaced by NEW."""
    hack = tmp_path / "hack"
    shutil.copytree(REPO / "hack" / "cluster", hack / "cluster")
    for name in ("versions.env", "cluster-up"):
        shutil.copy2(REPO / "hack" / name, hack / name)
    # the Tekton cluster settings the plan patches by param name
    (tmp_path / "tekton/triggers").mkdir(parents=True)
    shutil.copy2(REPO / "tekton/triggers/cluster.yaml", tmp_path / "tekton/triggers/cluster.yaml")
    # the target is in cluster-up.sh or in the project steps it shares with the e2e path
    for name in ("cluster-up.sh", "project-steps.sh"):
        script = (REPO / "hack" / "cluster" / name).read_text()
        if old in script:
            (hack / "cluster" / name).write_text(script.replace(old, new))
            break
    else:
        raise AssertionError(f"mutation target gone from cluster-up: {old!r}")
    return dry_run("cluster-up", cwd=tmp_path)


def test_the_unbroken_copy_passes(tmp_path: Path, staging_render: list[dict[str, Any]]):
    plan = broken_plan(tmp_path, "create_secrets\n", "create_secrets\n")
    check_namespaces_exist_before_use(plan, staging_render)
    check_creates_follow_checks(plan)
    check_urls_pinned(plan.urls(), read_versions())


def test_secrets_before_their_namespace_are_caught(
    tmp_path: Path, staging_render: list[dict[str, Any]]
):
    plan = broken_plan(
        tmp_path,
        "  create_namespaces\n  create_secrets\n",
        "  create_secrets\n  create_namespaces\n",
    )
    with pytest.raises(AssertionError, match="namespace techcommerce-ci used before it exists"):
        check_namespaces_exist_before_use(plan, staging_render)


@pytest.mark.parametrize(
    ("look", "match"),
    [
        pytest.param(
            'if probe_output kind get clusters | grep -qx "$CLUSTER_NAME"; then',
            None,
            id="the kind cluster",
        ),
        pytest.param(
            'if kubectl_probe get secret --namespace "$namespace" "$name"; then',
            "create secret",
            id="a Secret",
        ),
    ],
)
def test_creating_without_looking_first_is_caught(tmp_path: Path, look: str, match: str | None):
    """cluster-up with the look for what exists (LOOK) made `if false; then`: it would create
    (or overwrite) without checking."""
    plan = broken_plan(tmp_path, look, "if false; then")
    with pytest.raises(AssertionError, match=match):
        check_creates_follow_checks(plan)


def test_an_unpinned_release_url_is_caught(tmp_path: Path):
    plan = broken_plan(
        tmp_path,
        '"$TEKTON_RELEASES/dashboard/previous/$TEKTON_DASHBOARD_VERSION/release.yaml"',
        '"$TEKTON_RELEASES/dashboard/latest/release.yaml"',
    )
    with pytest.raises(AssertionError, match="dashboard/latest"):
        check_urls_pinned(plan.urls(), read_versions())
