"""Tekton in the cluster (groundwork of the CI/CD issue): Pipelines and Triggers built here from
their modules run; the project's Tasks, Pipelines, Triggers and RBAC (tekton/) are admitted by
Tekton's own validating webhooks, which refuse a broken Task; the EventListener runs: a delivery
with a forged signature, a `ping` and a branch deletion start nothing, a signed push to a feature
branch starts a `ci` run."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import yaml

from cluster_e2e.kube import REPO, Cluster
from cluster_e2e.pipelines import CI, listener, new_run, pipelineruns, send

TKN_ENV = "TECHCOMMERCE_E2E_TKN"


def names_in(folder: Path, kind: str) -> set[str]:
    names = set()
    for path in folder.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind:
                names.add(doc["metadata"]["name"])
    return names


def ready_deployments(cluster: Cluster, namespace: str) -> set[str]:
    """Names of the Deployments of NAMESPACE whose replicas are all ready."""
    return {
        d["metadata"]["name"]
        for d in cluster.get("deployments", namespace=namespace)["items"]
        if d["status"].get("readyReplicas", 0) == d["spec"]["replicas"]
    }


def test_tekton_controllers_and_webhooks_run(cluster: Cluster):
    ready = ready_deployments(cluster, "tekton-pipelines")
    assert {
        "tekton-pipelines-controller",
        "tekton-pipelines-webhook",
        "tekton-triggers-controller",
        "tekton-triggers-webhook",
        "tekton-triggers-core-interceptors",
    } <= ready, ready


def test_the_project_resources_are_admitted_by_tektons_webhooks(cluster: Cluster):
    for kind, plural, folder in (
        ("Task", "tasks.tekton.dev", "tekton/tasks"),
        ("Pipeline", "pipelines.tekton.dev", "tekton/pipelines"),
        ("TriggerTemplate", "triggertemplates.triggers.tekton.dev", "tekton/triggers"),
        ("TriggerBinding", "triggerbindings.triggers.tekton.dev", "tekton/triggers"),
        ("EventListener", "eventlisteners.triggers.tekton.dev", "tekton/triggers"),
    ):
        expected = names_in(REPO / folder, kind)
        assert expected, (kind, folder)
        present = {o["metadata"]["name"] for o in cluster.get(plural, namespace=CI)["items"]}
        assert expected <= present, (kind, expected - present)


def test_tektons_webhook_refuses_a_task_that_uses_an_undeclared_param(cluster: Cluster):
    task = {
        "apiVersion": "tekton.dev/v1",
        "kind": "Task",
        "metadata": {"name": "e2e-broken-task"},
        "spec": {
            "steps": [
                {
                    "name": "echo",
                    "image": f"{cluster.registry}/techcommerce-e2e/tekton-shell:e2e",
                    "script": "echo $(params.undeclared)",
                }
            ]
        },
    }
    proc = cluster.kubectl(
        "-n", CI, "apply", "--dry-run=server", "-f", "-", input=json.dumps(task), check=False
    )
    assert proc.returncode != 0
    assert "admission webhook" in proc.stderr and "undeclared" in proc.stderr, proc.stderr


def test_the_listener_starts_a_run_only_for_a_signed_relevant_delivery(
    cluster: Cluster, tmp_path: Path
):
    target = listener(cluster, tmp_path)
    forged = tmp_path / "forged"
    forged.write_text("not-the-webhook-secret")

    before = set(pipelineruns(cluster))
    send(target, sample="push-main-one-service", secret=forged)
    send(target, sample="ping")
    send(target, sample="push-branch-deleted")
    time.sleep(15)  # an accepted delivery makes its PipelineRun within a second or two
    assert set(pipelineruns(cluster)) == before

    # The control: the same listener, a correctly signed push to a feature branch, starts a ci
    # run (deleted again at once: it names a repository that is not on the git server).
    send(target, sample="push-feature-branch-with-slash")
    run = new_run(cluster, before)
    try:
        assert run["spec"]["pipelineRef"]["name"] == "ci", run["spec"]
    finally:
        cluster.kubectl(
            "-n", CI, "delete", "pipelinerun", run["metadata"]["name"], "--wait=false", check=False
        )


def test_the_approval_gate_runs_and_only_approvers_may_answer(cluster: Cluster):
    """The approval gate built here, with the kind path's RBAC fix: its controller binding names
    the controller alone (no system:authenticated), so the API server lets only the approvers'
    group (tekton/rbac/approvers.yaml) update ApprovalTasks in techcommerce-ci."""
    ready = ready_deployments(cluster, "tekton-pipelines")
    assert {"manual-approval-gate-controller", "manual-approval-gate-webhook"} <= ready, ready
    binding = cluster.get(
        "clusterrolebinding/manual-approval-gate-controller-cluster-access", namespace="default"
    )
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "manual-approval-gate-controller",
            "namespace": "tekton-pipelines",
        }
    ]

    def may_update(*who: str) -> str:
        proc = cluster.kubectl(
            "auth", "can-i", "update", "approvaltasks.openshift-pipelines.org", "-n", CI, *who,
            check=False,
        )  # fmt: skip
        return proc.stdout.strip()

    assert may_update("--as=developer", "--as-group=system:authenticated") == "no"
    assert (
        may_update(
            "--as=release-manager",
            "--as-group=system:authenticated",
            "--as-group=techcommerce-release-managers",
        )
        == "yes"
    )


def test_tkn_lists_the_project_pipelines(cluster: Cluster):
    proc = subprocess.run(
        [os.environ[TKN_ENV], "--kubeconfig", str(cluster.kubeconfig), "pipeline", "list",
         "-n", CI, "-o", "name"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    listed = {line.split("/", 1)[-1] for line in proc.stdout.split()}
    assert names_in(REPO / "tekton/pipelines", "Pipeline") <= listed, proc.stdout
