"""Tekton in the cluster (groundwork of the CI/CD issue): Pipelines and Triggers built here from
their modules run; the project's Tasks, Pipelines, Triggers and RBAC (tekton/) are admitted by
Tekton's own validating webhooks, which refuse a broken Task; the EventListener runs: a delivery
with a forged signature, a `ping` and a branch deletion start nothing, a signed push to a feature
branch starts a `ci` run."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path

import yaml

from cluster_e2e.kube import REPO, Cluster, eventually

CI = "techcommerce-ci"
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


def pipelineruns(cluster: Cluster) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in cluster.get("pipelineruns", namespace=CI)["items"]}


def send(target: str, sample: str, secret_file: Path) -> str:
    """hack/send-webhook's answer line: the listener's status code and body."""
    proc = subprocess.run(
        [str(REPO / "hack/send-webhook"), target, "--sample", sample, "--secret-file",
         str(secret_file)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    answer = (proc.stdout + proc.stderr).strip()
    assert re.match(r"\d{3} ", answer), (sample, answer)
    return answer


def test_the_listener_starts_a_run_only_for_a_signed_relevant_delivery(
    cluster: Cluster, tmp_path: Path
):
    listener = cluster.get("eventlisteners", namespace=CI)["items"][0]
    conditions = {c["type"]: c["status"] for c in listener["status"].get("conditions", [])}
    assert conditions.get("Ready") == "True", listener["status"]
    url = listener["status"]["address"][
        "url"
    ]  # http://el-NAME.techcommerce-ci.svc.cluster.local:PORT
    service = url.split("//", 1)[1].split(".", 1)[0]
    target = f"http://{cluster.service_ip(service, namespace=CI)}:{url.rsplit(':', 1)[1]}"
    real = tmp_path / "secret"
    real.write_bytes(
        base64.b64decode(
            cluster.get("secret/github-webhook-secret", namespace=CI)["data"]["secret"]
        )
    )
    forged = tmp_path / "forged"
    forged.write_text("not-the-webhook-secret")

    before = set(pipelineruns(cluster))
    send(target, "push-main-one-service", forged)
    send(target, "ping", real)
    send(target, "push-branch-deleted", real)
    time.sleep(15)  # an accepted delivery makes its PipelineRun within a second or two
    assert set(pipelineruns(cluster)) == before

    # The control: the same listener, a correctly signed push to a feature branch, starts a ci
    # run (deleted again at once: its step images are the upstream ones, not built here yet).
    send(target, "push-feature-branch-with-slash", real)
    started = eventually(
        lambda: {n: o for n, o in pipelineruns(cluster).items() if n not in before},
        60,
        what="the PipelineRun of a signed push",
    )
    try:
        assert len(started) == 1, list(started)
        run = next(iter(started.values()))
        assert run["spec"]["pipelineRef"]["name"] == "ci", run["spec"]
    finally:
        for name in started:
            cluster.kubectl("-n", CI, "delete", "pipelinerun", name, "--wait=false", check=False)


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
