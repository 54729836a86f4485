"""The plan of `hack/cluster-up --dry-run`: what it would run, in which order, and that a dry-run
runs nothing. Only the dry-run can run here (no kind, no container engine, no cluster)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.cluster_lib import (
    CONTEXT,
    REMOTE_KUSTOMIZATIONS,
    REPO,
    Command,
    Plan,
    dry_run,
    parse_plan,
    pod_spec,
    run_script,
    secret_refs,
    yaml_docs,
)
from cluster.plan_checks import check_creates_follow_checks, check_namespaces_exist_before_use
from support.kustomize import kustomize_objects, mappings


def test_every_plan_line_is_one_prefixed_command_and_headings_stay_on_stderr(plan: Plan):
    assert len(plan.commands) > 40
    assert "==> Prerequisites" in plan.stderr
    assert "==>" not in plan.stdout


def test_the_plan_is_deterministic():
    first = dry_run("cluster-up")
    second = dry_run("cluster-up")
    assert first.stdout == second.stdout
    down = [dry_run("cluster-down").stdout for _ in range(2)]
    assert down[0] == down[1]


def test_every_kubectl_command_names_the_kind_context(plan: Plan):
    kubectl = [c for c in plan.commands if c.is_kubectl]
    assert kubectl
    for cmd in kubectl:
        assert cmd.words[1:3] == ("--context", CONTEXT), cmd.line


def test_cluster_name_and_engine_come_from_the_environment():
    other = dry_run("cluster-up", env={"CLUSTER_NAME": "shop", "CONTAINER_ENGINE": "podman"})
    assert other.first("kind", "create", "cluster").option("--name") == "shop"
    assert all(c.words[1:3] == ("--context", "kind-shop") for c in other.commands if c.is_kubectl)
    assert other.find("podman", "run")
    assert not other.find("docker")
    push = other.find("podman", "push")
    assert push and all("--tls-verify=false" in c.words for c in push)


def test_prerequisites_are_checked_first_even_in_a_dry_run(plan: Plan):
    checked = [c.words[2] for c in plan.commands[:6] if c.words[:2] == ("command", "-v")]
    assert {"kind", "kubectl", "docker", "tkn"} <= set(checked)
    first_change = min(c.index for c in plan.commands if c.words[:2] != ("command", "-v"))
    assert all(plan.first("command", "-v", t).index < first_change for t in ("kind", "kubectl"))


def test_dry_run_runs_nothing_and_writes_nothing(tmp_path: Path):
    """Tripwires named like every tool the script would call: each records that it ran. The
    dry-run must call none of them, and must leave no generated file behind."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "called.log"
    for tool in ("kind", "kubectl", "docker", "podman", "tkn", "od", "base64"):
        trap = bin_dir / tool
        trap.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit 1\n')
        trap.chmod(trap.stat().st_mode | stat.S_IEXEC)
    before = _generated_files()
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for args in (
        ("cluster-up", "--dry-run"),
        ("cluster-up", "--dry-run", "--skip-images"),
        ("cluster-down", "--dry-run"),
        ("cluster-down", "--dry-run", "--purge"),
    ):
        proc = run_script(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("+ ")
    assert not log.exists(), log.read_text()
    assert _generated_files() == before


def _generated_files() -> set[Path]:
    paths = [REPO / ".cluster", *(REPO / "manifests/overlays").glob("*/secrets")]
    return {p for root in paths if root.exists() for p in root.rglob("*")} | {
        p for p in paths if p.exists()
    }


def test_registry_then_cluster_then_everything_else(plan: Plan):
    registry = plan.first("docker", "run")
    assert registry.option("--name") == "kind-registry"
    assert registry.option("--publish") == "127.0.0.1:5001:5000", "registry must stay on loopback"
    create = plan.first("kind", "create", "cluster")
    first_kubectl = min(c.index for c in plan.commands if c.is_kubectl)
    assert registry.index < create.index < first_kubectl
    # The node learns where localhost:5001 lives before anything pulls from it.
    hosts_file = "hack/cluster/registry-hosts.toml"
    hosts = [c for c in plan.find("docker", "cp") if c.words[2] == hosts_file]
    targets = {c.words[3].split(":", 1)[1] for c in hosts}
    assert targets == {
        "/etc/containerd/certs.d/localhost:5001/hosts.toml",
        "/etc/containerd/certs.d/kind-registry:5000/hosts.toml",
    }
    assert plan.first("docker", "network", "connect", "kind", "kind-registry").index < first_kubectl
    assert 'host."http://kind-registry:5000"' in (REPO / hosts_file).read_text()


def test_checks_come_before_every_create(plan: Plan):
    """Idempotency: the cluster, the registry and every Secret are created only after a check
    of whether they exist (the dry-run shows the path of a fresh machine)."""
    check_creates_follow_checks(plan)
    assert len(plan.find("kubectl", "create", "secret")) == 4


def test_everything_else_is_applied_not_created(plan: Plan):
    creates = [c for c in plan.find("kubectl", "create")]
    assert all(c.kubectl[1] == "secret" for c in creates), [c.line for c in creates]
    assert not plan.find("kubectl", "replace")


def _remote_applies(plan: Plan) -> list[Command]:
    """Applies of upstream manifests: a release URL, or a kustomization wrapping one."""
    return [
        c
        for c in plan.find("kubectl", "apply")
        if any("://" in w for w in c.words) or (c.option("-k") in REMOTE_KUSTOMIZATIONS)
    ]


def test_each_upstream_component_is_installed_and_waited_for_before_the_next(plan: Plan):
    remote = _remote_applies(plan)
    assert len(remote) == 6, [c.line for c in remote]
    for cmd in remote[:5]:
        assert "--server-side" in cmd.words, f"CRDs too large for client-side apply: {cmd.line}"
    for cmd, nxt in zip(remote, [*remote[1:], None], strict=True):
        end = nxt.index if nxt else len(plan.commands)
        waits = [
            c
            for c in plan.commands[cmd.index + 1 : end]
            if c.is_kubectl and c.kubectl[0] in {"wait", "rollout"}
        ]
        assert waits, f"nothing waits for {cmd.line}"
    order = [
        "/pipeline/",
        "/triggers/previous/v",
        "interceptors.yaml",
        "/dashboard/",
        "hack/cluster/manual-approval-gate",
        "hack/cluster/metrics-server",
    ]
    positions = [next(c.index for c in remote if key in c.line) for key in order]
    assert positions == sorted(positions)
    # ClusterInterceptors need their CRD: wait for it between triggers and interceptors.
    assert any(
        positions[1] < c.index < positions[2]
        and "crd/clusterinterceptors.triggers.tekton.dev" in c.words
        for c in plan.find("kubectl", "wait")
    )
    # Everything else upstream lands in tekton-pipelines, which the Pipelines release creates.
    assert positions[0] == min(positions)


def test_metrics_server_gets_the_kind_flag_from_its_kustomization(plan: Plan):
    cmd = plan.first("kubectl", "apply", "-k", "hack/cluster/metrics-server")
    doc = next(yaml_docs(REPO / "hack/cluster/metrics-server/kustomization.yaml"))
    patch = doc["patches"][0]
    assert patch["target"] == {
        "kind": "Deployment",
        "name": "metrics-server",
        "namespace": "kube-system",
    }
    assert "--kubelet-insecure-tls" in patch["patch"]
    rollout = plan.commands[cmd.index + 1]
    assert (
        rollout.kubectl[:2] == ("rollout", "status")
        and "deployment/metrics-server" in rollout.words
    )


def test_approval_gate_binding_to_all_users_is_replaced(plan: Plan, versions: dict[str, str]):
    """The approval gate's kustomization rewrites the controller binding's subjects to the
    controller's service account alone: no system:authenticated, in every release."""
    assert plan.find("kubectl", "apply", "--server-side", "--force-conflicts", "-k")
    doc = next(yaml_docs(REPO / "hack/cluster/manual-approval-gate/kustomization.yaml"))
    version = versions["MANUAL_APPROVAL_GATE_VERSION"]
    assert doc["resources"] == [
        "https://github.com/openshift-pipelines/manual-approval-gate/releases/download/"
        f"{version}/release-kubernetes.yaml"
    ]
    (patch,) = doc["patches"]
    assert patch["target"] == {
        "kind": "ClusterRoleBinding",
        "name": "manual-approval-gate-controller-cluster-access",
    }
    ops = yaml.safe_load((REPO / "hack/cluster/manual-approval-gate" / patch["path"]).read_text())
    assert ops == [
        {
            "op": "replace",
            "path": "/subjects",
            "value": [
                {
                    "kind": "ServiceAccount",
                    "name": "manual-approval-gate-controller",
                    "namespace": "tekton-pipelines",
                }
            ],
        }
    ]


def test_every_namespace_exists_before_anything_is_applied_into_it(
    plan: Plan, staging_render: list[dict[str, Any]]
):
    known, checked = check_namespaces_exist_before_use(plan, staging_render)
    assert {"techcommerce-staging", "techcommerce-production", "techcommerce-ci", "monitoring"} <= (
        known
    )
    assert checked > 50


def test_app_namespaces_come_from_the_owners_files_with_pod_security_labels(plan: Plan):
    applied = {c.option("-f") for c in plan.find("kubectl", "apply", "-f")}
    for path in (
        "manifests/overlays/staging/namespace.yaml",
        "manifests/overlays/production/namespace.yaml",
        "monitoring/kubernetes/namespaces.yaml",
        "tekton/rbac/namespace.yaml",
    ):
        assert path in applied
        for ns in yaml_docs(REPO / path):
            assert ns["kind"] == "Namespace"
            assert "pod-security.kubernetes.io/enforce" in ns["metadata"]["labels"], path


def test_secret_files_exist_before_anything_reads_them(plan: Plan):
    gen = plan.first("hack/gen-secrets.sh")
    assert set(gen.words[1:]) == {"manifests/overlays/staging", "manifests/overlays/production"}
    staging = plan.first("kubectl", "apply", "-k", "manifests/deploy/kind")
    assert gen.index < staging.index
    for create in plan.find("kubectl", "create", "secret"):
        for source in create.options("--from-file") + [
            w.split("=", 1)[1] for w in create.words if w.startswith("--from-file=")
        ]:
            path = source.split("=", 1)[-1]
            producers = [
                c
                for c in plan.commands[: create.index]
                if path in c.words
                or any(path.startswith(w + "/") for w in c.words[1:])
                # gen-secrets writes the Secrets of manifests/overlays/ENV in .cluster/secrets/ENV
                or (c is gen and path in {f".cluster/secrets/{Path(w).name}" for w in c.words[1:]})
            ]
            assert producers, f"{path} is read before anything writes it: {create.line}"


def test_secret_values_never_appear_on_a_command_line(plan: Plan):
    for cmd in plan.commands:
        assert not any(w.startswith("--from-literal") for w in cmd.words), cmd.line
    assert "gen-secrets" not in plan.stdout.replace("hack/gen-secrets.sh", "")


def test_staging_workloads_find_their_secrets_first(staging_render: list[dict[str, Any]]):
    """kubectl applies in the rendered order: every Secret a staging pod needs is rendered by
    the overlay itself, before the workload."""
    position = {(o["kind"], o["metadata"]["name"]): i for i, o in enumerate(staging_render)}
    workloads = 0
    for i, obj in enumerate(staging_render):
        pod = pod_spec(obj)
        if pod is None:
            continue
        workloads += 1
        for name in secret_refs(pod):
            assert ("Secret", name) in position, (
                f"{obj['kind']}/{obj['metadata']['name']} needs {name}"
            )
            assert position[("Secret", name)] < i
    assert workloads >= 5


def test_staging_is_applied_with_the_images_cluster_up_pushed(
    plan: Plan, staging_render: list[dict[str, Any]], versions: dict[str, str]
):
    doc = next(yaml_docs(REPO / "manifests/overlays/kind/kustomization.yaml"))
    assert doc["resources"] == ["../staging"]
    pushed = {c.words[-1] for c in plan.find("docker", "push")}
    tag = versions["TECHCOMMERCE_IMAGE_TAG"]
    assert pushed == {
        f"localhost:5001/techcommerce/{s}:{tag}" for s in ("product-api", "order-api", "frontend")
    }
    used = set()
    for obj in staging_render:
        pod = pod_spec(obj)
        if pod:
            used |= {
                c["image"]
                for c in (pod.get("initContainers") or []) + pod["containers"]
                if "techcommerce/" in c["image"]
            }
    assert used == pushed
    staging = plan.first("kubectl", "apply", "-k", "manifests/deploy/kind")
    assert max(c.index for c in plan.find("docker", "push")) < staging.index
    assert {o["metadata"].get("namespace") for o in staging_render if o["kind"] != "Namespace"} == {
        "techcommerce-staging"
    }


def test_staging_is_waited_for(plan: Plan):
    kind = plan.first("kubectl", "apply", "-k", "manifests/deploy/kind")
    after = plan.commands[kind.index + 1 :]
    waited = {
        w for c in after if c.is_kubectl and c.kubectl[0] in {"rollout", "wait"} for w in c.words
    }
    for target in (
        "statefulset/postgres",
        "job/migrate",
        "deployment/product-api",
        "deployment/order-api",
        "deployment/frontend",
    ):
        assert target in waited


def test_skip_images_builds_nothing():
    skipped = dry_run("cluster-up", "--skip-images")
    assert not skipped.find("docker", "build") and not skipped.find("docker", "push")
    assert skipped.find("kubectl", "apply", "-k", "manifests/deploy/kind")


def test_monitoring_and_tekton_resources_are_applied_as_laid_out(plan: Plan):
    assert plan.find("kubectl", "apply", "-k", "monitoring/kubernetes")
    if (REPO / "tekton/kustomization.yaml").exists():
        assert plan.find("kubectl", "apply", "-k", "tekton")
    else:
        applied = {c.option("-f") for c in plan.find("kubectl", "apply")}
        assert {"tekton/rbac", "tekton/tasks", "tekton/pipelines"} <= applied
    tekton = [
        c for c in plan.find("kubectl", "apply") if (c.option("-f") or "").startswith("tekton/")
    ]
    pipeline_crds = plan.first("kubectl", "apply", "--server-side", "--force-conflicts")
    assert all(c.index > pipeline_crds.index for c in tekton)


def test_secrets_tekton_references_are_created_by_the_plan(plan: Plan):
    """Every secretName in tekton/ (run examples, triggers) is a Secret cluster-up creates, with
    the keys the reference names (secretKey, items)."""
    created: dict[str, set[str]] = {}
    for cmd in plan.find("kubectl", "create", "secret"):
        keys = set()
        for w in cmd.words:
            if w.startswith("--from-file="):
                source = w.split("=", 1)[1]
                keys.add(source.split("=", 1)[0] if "=" in source else "*")
        created[cmd.kubectl[3]] = keys
    referenced: list[tuple[str, str | None, str]] = []
    for path in sorted((REPO / "tekton").rglob("*.yaml")):
        for doc in yaml_docs(path):
            if doc["kind"] == "Ingress":
                continue  # its TLS Secret is for a real cluster's ingress, not for kind
            for node in mappings(doc):
                name = node.get("secretName")
                if isinstance(name, str) and "$(" not in name:
                    key = node.get("secretKey")
                    referenced.append((name, key if isinstance(key, str) else None, str(path)))
                    for item in node.get("items") or []:
                        referenced.append((name, item["key"], str(path)))
    assert referenced, "tekton/ references no Secret at all?"
    for name, key, path in referenced:
        assert name in created, f"{path} needs Secret {name}, which cluster-up does not create"
        if key and "*" not in created[name]:
            assert key in created[name], f"{path} needs key {key} of {name}"


def test_next_steps_cover_urls_first_run_approval_and_rollback(plan: Plan):
    text = plan.stderr
    for expected in (
        "port-forward svc/frontend",
        "port-forward svc/tekton-dashboard",
        "port-forward svc/grafana",
        "tkn -n techcommerce-ci pipeline start cd",
        "tkn-approvaltask -n techcommerce-ci approve",
        "tekton/runs/rollback-run.yaml",
        "hack/cluster-down",
    ):
        assert expected in text
    for path in (
        "tekton/runs/pvc.yaml",
        "hack/cluster/pod-template.yaml",
        "tekton/runs/rollback-run.yaml",
    ):
        assert (REPO / path).exists()


def test_cluster_down_plan():
    plain = dry_run("cluster-down")
    assert (
        plain.first("kind", "get", "clusters").index
        < plain.first("kind", "delete", "cluster").index
    )
    assert plain.first("kind", "delete", "cluster").option("--name") == "techcommerce"
    assert plain.first("docker", "rm", "--force", "kind-registry")
    assert not plain.find("rm")
    purge = dry_run("cluster-down", "--purge")
    rm = purge.first("rm", "-rf")
    assert set(rm.words[2:]) == {".cluster"}  # every generated secret lives there


@pytest.mark.parametrize("script", ["cluster-up", "cluster-down"])
def test_unknown_option_is_refused_with_usage(script: str):
    proc = run_script(script, "--bogus")
    assert proc.returncode == 2
    assert "Usage:" in proc.stderr
    assert proc.stdout == ""
    assert parse_plan("").commands == ()


def test_what_the_plan_waits_for_is_what_it_applied(
    plan: Plan, staging_render: list[dict[str, Any]]
):
    """`rollout status KIND/NAME` and `wait job/NAME` in the app and monitoring namespaces name
    objects the applied manifests really contain (a rename there must not leave a wait that
    times out on a real cluster)."""
    rendered = staging_render + kustomize_objects(REPO / "monitoring/kubernetes")
    present = {
        (o["metadata"].get("namespace"), o["kind"].lower(), o["metadata"]["name"]) for o in rendered
    }
    checked = 0
    for cmd in plan.commands:
        if not cmd.is_kubectl or cmd.kubectl[0] not in {"rollout", "wait"}:
            continue
        namespace = cmd.option("--namespace")
        if namespace not in {"techcommerce-staging", "monitoring", "node-exporter"}:
            continue
        for word in cmd.kubectl:
            if "/" in word and not word.startswith("-"):
                kind, name = word.split("/", 1)
                assert (namespace, kind, name) in present, cmd.line
                checked += 1
    assert checked == 10


def test_registry_secret_is_the_standard_dockerconfigjson(plan: Plan):
    """One convention: the Secret holds only .dockerconfigjson, and every docker-config binding
    maps that key to the config.json kaniko reads (tests/cluster/test_registry.py checks the
    bindings)."""
    create = next(
        c
        for c in plan.find("kubectl", "create", "secret")
        if c.kubectl[3] == "techcommerce-registry"
    )
    assert create.option("--type") == "kubernetes.io/dockerconfigjson"
    keys = {w.split("=")[1] for w in create.words if w.startswith("--from-file=")}
    assert keys == {".dockerconfigjson"}


def test_kind_reaches_the_event_listener_without_the_example_ingress(plan: Plan):
    """The Ingress for a real cluster's host name is a documented example: no directory that
    cluster-up applies holds it, and the next steps show the port-forward instead."""
    applied = [
        REPO / word
        for cmd in plan.find("kubectl", "apply")
        for word in cmd.words
        if (REPO / word).is_dir()
    ]
    assert REPO / "tekton/triggers" in applied
    for directory in applied:
        for path in sorted(directory.glob("*.yaml")):
            kinds = {doc["kind"] for doc in yaml_docs(path)}
            assert "Ingress" not in kinds, f"cluster-up applies the example Ingress in {path}"
    assert "port-forward svc/el-techcommerce-github" in plan.stdout + plan.stderr
