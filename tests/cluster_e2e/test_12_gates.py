"""A failing gate blocks (the CI/CD issue's scenario 7): three commits pushed to develop, one
with a bandit HIGH finding, one with a failing test, one that drops the coverage below the gate,
each start a `cd` run through the EventListener that fails at that gate, before anything is built
or pushed; a `cd` run started with `tkn` against a vulnerability database holding one HIGH
advisory for a pinned package fails at trivy, before anything is built, pushed or deployed. The
four run one after another."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from cluster_e2e.kube import REPO, Cluster
from cluster_e2e.pipelines import (
    TKN_ENV,
    ZERO,
    GitServer,
    cluster_settings,
    listener,
    new_run,
    outcome,
    pipelineruns,
    push_payload,
    send,
    succeeded,
    tkn_start,
    wait_finished,
)
from cluster_e2e.test_12_ci import registry_has

TRIVY_DB_ENV = "TECHCOMMERCE_E2E_TRIVY_DB"
GATE_SECONDS = 2400
SERVICES = ("product-api", "order-api", "frontend")

UNSAFE = '''"""e2e: a bandit HIGH finding (B602, a shell command built from input)."""

import subprocess


def run(command: str) -> int:
    return subprocess.call(command, shell=True)  # noqa: S602 (bandit still sees it)
'''
FAILING_TEST = '''"""e2e: a test that fails."""


def test_the_gate_stops_a_failing_test():
    assert 1 + 1 == 3
'''


def uncovered(functions: int = 1500) -> str:
    """A module no test imports: 2 statements per function, all missed."""
    body = "\n\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(functions))
    return '"""e2e: code no test covers."""\n\n\n' + body


GATES = {
    # name: (file, content, the pipeline task that must fail)
    "bandit": ("services/kit/e2e_unsafe.py", UNSAFE, "bandit"),
    "test": ("services/kit/tests/test_e2e_gate.py", FAILING_TEST, "python-test"),
    "coverage": ("services/kit/e2e_uncovered.py", uncovered(), "python-test"),
}


def start_cd_with_advisory(cluster: Cluster, git: GitServer, commit: str) -> str:
    """`tkn pipeline start cd` for COMMIT on develop, as tekton/README.md starts it, with this
    cluster's settings except trivy's database: one holding a HIGH advisory for the pinned
    aiohttp, pushed to the registry for this test."""
    version = next(
        line.split("==")[1].strip()
        for line in (REPO / "services/requirements.txt").read_text().splitlines()
        if line.lower().startswith("aiohttp==")
    )
    pushed = subprocess.run(
        [str(REPO / ".venv/bin/python"), str(REPO / "hack/e2e/trivy_db_artifact.py"),
         os.environ[TRIVY_DB_ENV], cluster.registry, "techcommerce-e2e/trivy-db:advisory",
         f"pip|aiohttp|<={version}|CVE-2099-0007|HIGH"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    settings = cluster_settings(cluster) | {"trivy-db-repository": pushed.stdout.strip()}
    names = (
        "registry insecure-registry git-step-image python-step-image postgres-step-image "
        "trivy-step-image kaniko-step-image kubectl-step-image pip-index-url service-base-image "
        "image-overrides trivy-db-repository trivy-skip-check-update"
    ).split()
    return tkn_start(
        cluster,
        "cd",
        {"repo-url": git.url, "revision": commit, "branch": "develop", "services": "frontend",
         "stop-after-staging": "true", **{name: settings[name] for name in names}},
        "name=shared,volumeClaimTemplateFile=tekton/runs/pvc.yaml",
        "name=docker-config,secret=techcommerce-registry,item=.dockerconfigjson=config.json",
        "name=staging-secrets,secret=techcommerce-staging-overlay",
        "name=production-secrets,secret=techcommerce-production-overlay",
    )  # fmt: skip


def stopped_at(cluster: Cluster, name: str, commit: str, task: str) -> None:
    """Run NAME failed at TASK, before anything was built or pushed. One run at a time: a 2-CPU
    node holds one test step (500m + its database) beside the platform and staging."""
    finished = wait_finished(cluster, name, GATE_SECONDS)
    states = outcome(cluster, name)
    assert succeeded(finished) == "False", (task, states)
    assert states.get(task) == "False", (task, states)
    assert "build" not in states and "deploy-staging" not in states, (task, states)
    for service in SERVICES:
        assert not registry_has(cluster, f"techcommerce/{service}", commit), (task, service)


def test_each_failing_gate_stops_the_pipeline_before_anything_is_pushed(
    cluster: Cluster, tmp_path_factory, report
):
    for env in (TKN_ENV, TRIVY_DB_ENV):
        if not os.environ.get(env):
            pytest.skip(f"needs {env} (set by make e2e)")
    git = GitServer(cluster, tmp_path_factory.mktemp("git-gates"))
    target = listener(cluster, tmp_path_factory.mktemp("listener-gates"))
    if git.head("develop") == ZERO:
        git.git("push", "--quiet", git.url, f"{git.head('main')}:refs/heads/develop")
    began = time.monotonic()
    develop = git.head("develop")
    for gate, (path, content, task) in GATES.items():
        # each gate's commit on develop's head, kept on a branch of its own (a fetchable tip);
        # the delivery says develop
        _, after = git.commit(
            f"e2e/gate-{gate}", {path: lambda _, c=content: c}, f"e2e: {gate} gate", start=develop
        )
        known = set(pipelineruns(cluster))
        payload = push_payload(git, "develop", develop, after, [path])
        assert send(target, payload=payload, event="push").startswith("202 ")
        stopped_at(cluster, new_run(cluster, known)["metadata"]["name"], after, task)
    # trivy: a harmless commit, a database that names a pinned package
    _, clean = git.commit(
        "e2e/gate-trivy",
        {"services/frontend/__init__.py": lambda text: text + "# e2e: the trivy gate\n"},
        "e2e: trivy gate",
        start=develop,
    )
    stopped_at(cluster, start_cd_with_advisory(cluster, git, clean), clean, "trivy-fs")
    report(
        "cd scenario 7 (failing gates, one run after another): bandit HIGH -> bandit, failing test "
        "and coverage drop -> python-test, a HIGH advisory -> trivy-fs; nothing built or pushed, "
        f"{time.monotonic() - began:.0f} s"
    )
