"""The kind path (hack/cluster-up) and the e2e path (hack/e2e/deploy.sh) share everything that is
not kind-specific, so what `make e2e` proves is what users get: the same namespace files in the
same order, the same secrets generation, the same staging overlay (the rendered objects are equal
but for the image references), the same waits, in the same install order. Offline: both scripts'
dry-run plans and `kubectl kustomize`; no cluster is needed, so this runs in `make test` too."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.kustomize import kustomize_objects

REPO = Path(__file__).resolve().parents[2]


def repository_name(image: str) -> str:
    """The last path part of an image reference, without registry, tag or digest."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def plan(*command: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> list[str]:
    """The commands a dry run prints, as argument strings with the kubectl prefix removed
    ("kubectl --context CTX " on the kind path, "kctl " on the e2e path)."""
    proc = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    steps = []
    for line in proc.stdout.splitlines():
        if not line.startswith("+ "):
            continue
        words = line[2:]
        words = re.sub(r"^kubectl --context \S+ ", "kubectl ", words)
        words = re.sub(r"^kctl ", "kubectl ", words)
        steps.append(words)
    return steps


def normalise(step: str, e2e_run: str) -> str:
    return (
        step.replace(f"apply -k {e2e_run}/staging", "apply -k STAGING")
        .replace("apply -k manifests/deploy/kind", "apply -k STAGING")
        .replace(f"apply -k {e2e_run}/monitoring", "apply -k MONITORING")
        .replace("apply -k monitoring/kubernetes", "apply -k MONITORING")
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A copy of what both paths read, with freshly generated secret files (gitignored: a clean
    clone has none; both paths generate them with hack/gen-secrets.sh)."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(
        REPO / "manifests", root / "manifests", ignore=shutil.ignore_patterns("secrets")
    )
    for part in ("hack/cluster", "hack/e2e", "hack/images/containers", "monitoring"):
        shutil.copytree(REPO / part, root / part)
    for part in (
        "hack/versions.env",
        "hack/gen-secrets.sh",
        "hack/cluster-up",
        "tekton/triggers/cluster.yaml",
    ):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / part, root / part)
    subprocess.run(
        ["bash", "hack/gen-secrets.sh", "manifests/overlays/staging"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=30,
    )
    return root


@pytest.fixture(scope="module")
def e2e_overlay(copy: Path) -> Path:
    return copy / "e2e-run"


@pytest.fixture(scope="module")
def plans(copy: Path, e2e_overlay: Path) -> tuple[list[str], list[str]]:
    kind = plan("bash", "hack/cluster-up", "--dry-run")
    e2e = plan(
        "bash",
        "hack/e2e/deploy.sh",
        "--dry-run",
        cwd=copy,
        env={"E2E_DRY_RUN_DIR": str(e2e_overlay)},
    )
    run = str(e2e_overlay)
    return [normalise(s, run) for s in kind], [normalise(s, run) for s in e2e]


def shared_steps(steps: list[str]) -> list[str]:
    """The project's own install steps: namespaces, secrets generation, the staging overlay and
    its waits, the Tekton resources (not the platform add-ons each path installs its own way)."""
    keep = (
        "kubectl apply -f manifests/",
        "kubectl apply -f monitoring/kubernetes/namespaces.yaml",
        "kubectl apply -f tekton/rbac",
        "kubectl apply --namespace techcommerce-ci ",
        "kubectl wait --namespace techcommerce-ci ",
        "hack/gen-secrets.sh ",
        "kubectl apply -k STAGING",
        "kubectl rollout status --namespace techcommerce-staging ",
        "kubectl wait --namespace techcommerce-staging ",
    )
    return [s for s in steps if s.startswith(keep)]


def test_both_paths_run_the_same_project_steps_in_the_same_order(plans):
    kind, e2e = plans
    assert shared_steps(kind), "the kind plan changed shape: update shared_steps()"
    assert shared_steps(e2e) == shared_steps(kind)


def test_the_e2e_path_installs_in_the_kind_path_order(plans):
    """Namespaces, then secrets, then images, then monitoring, then the staging overlay."""
    kind, e2e = plans
    for steps, images in ((kind, "build --build-arg SERVICE="), (e2e, "podman push")):
        order = [
            next(i for i, s in enumerate(steps) if prefix in s)
            for prefix in (
                "kubectl apply -f manifests/overlays/staging/namespace.yaml",
                "hack/gen-secrets.sh",
                images,
                "kubectl apply -k MONITORING",
                "kubectl apply -k STAGING",
            )
        ]
        assert order == sorted(order), steps


def test_both_paths_wait_for_the_same_monitoring_workloads(plans):
    """The e2e path leaves out Grafana (no image of it is built here) and adds the receiver
    its alert test reads; every other monitoring workload is awaited by both."""
    kind, e2e = plans

    def waits(steps: list[str]) -> list[str]:
        prefixes = (
            "kubectl rollout status --namespace monitoring ",
            "kubectl rollout status --namespace node-exporter ",
        )
        return [s for s in steps if s.startswith(prefixes)]

    assert [s for s in waits(kind) if "grafana" not in s] == [
        s for s in waits(e2e) if "alert-receiver" not in s
    ]


def render(directory: Path) -> dict[tuple[str, str, str], dict]:
    """The kustomization's objects by (kind, namespace, name)."""
    return {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj
        for obj in kustomize_objects(directory)
    }


def without_image_references(obj: dict) -> tuple[dict, list[str]]:
    """OBJ with every container image replaced by its bare repository name, and those names."""
    names = []

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "image" and isinstance(value, str):
                    names.append(repository_name(value))
                    out[key] = repository_name(value)
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(obj), names


def e2e_registry() -> str:
    """HOST:PORT of the e2e registry: the node's address (hack/e2e/lib.sh), port 5000."""
    lib = (REPO / "hack/e2e/lib.sh").read_text()
    node_ip = re.search(r"^E2E_NODE_IP=(\S+)$", lib, re.MULTILINE)
    assert node_ip and re.search(r"^E2E_REGISTRY=\$E2E_NODE_IP:5000$", lib, re.MULTILINE)
    return f"{node_ip.group(1)}:5000"


def test_the_staging_overlay_is_the_same_but_for_image_references(
    copy: Path, e2e_overlay: Path, plans
):
    kind = render(copy / "manifests/deploy/kind")
    e2e = render(e2e_overlay / "staging")
    assert set(e2e) == set(kind)
    for key, obj in kind.items():
        kind_obj, kind_images = without_image_references(obj)
        e2e_obj, e2e_images = without_image_references(e2e[key])
        assert e2e_obj == kind_obj, key
        assert e2e_images == kind_images, key
    # and the e2e images are pinned by digest from its in-cluster registry
    for obj in e2e.values():
        for container in (obj.get("spec", {}).get("template", {}).get("spec", {})).get(
            "containers", []
        ):
            assert re.fullmatch(
                rf"{re.escape(e2e_registry())}/\S+@sha256:[0-9a-f]{{64}}", container["image"]
            )


def test_the_e2e_versions_match_what_kind_users_get():
    pins = dict(
        line.split("=", 1)
        for line in (REPO / "hack/versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert f":{pins['E2E_KUBERNETES_VERSION']}@" in pins["KIND_NODE_IMAGE"]


def without_generated_suffix(obj: dict) -> dict:
    """OBJ with the content hash of alertmanager-config's generated name removed (the e2e
    overlay generates it from a different file, so the hash differs)."""
    text = re.sub(r"alertmanager-config-[a-z0-9]{10}\b", "alertmanager-config", json.dumps(obj))
    return json.loads(text)


def test_the_monitoring_stack_is_the_same_but_for_images_grafana_and_the_receiver(
    copy: Path, e2e_overlay: Path, plans
):
    kind = {
        (k, ns, re.sub(r"^alertmanager-config-[a-z0-9]{10}$", "alertmanager-config", n)): o
        for (k, ns, n), o in render(copy / "monitoring/kubernetes").items()
    }
    e2e = {
        (k, ns, re.sub(r"^alertmanager-config-[a-z0-9]{10}$", "alertmanager-config", n)): o
        for (k, ns, n), o in render(e2e_overlay / "monitoring").items()
    }
    grafana = {("Deployment", "monitoring", "grafana"), ("Service", "monitoring", "grafana")}
    receiver = {
        ("Deployment", "monitoring", "alert-receiver"),
        ("Service", "monitoring", "alert-receiver"),
    }
    assert set(e2e) == (set(kind) - grafana) | receiver
    config = ("ConfigMap", "monitoring", "alertmanager-config")
    for key in set(kind) - grafana - {config}:
        kind_obj, kind_images = without_image_references(without_generated_suffix(kind[key]))
        e2e_obj, e2e_images = without_image_references(without_generated_suffix(e2e[key]))
        assert e2e_obj == kind_obj, key
        assert e2e_images == kind_images, key
    # Alertmanager's routes and receivers are the project's; only PagerDuty's URL points to the
    # in-cluster receiver (Slack's URL is in the Secret, like every cluster's).
    kind_config = yaml.safe_load(kind[config]["data"]["alertmanager.yml"])
    e2e_config = yaml.safe_load(e2e[config]["data"]["alertmanager.yml"])
    assert e2e_config["global"].pop("pagerduty_url") == (
        "http://alert-receiver.monitoring.svc:8080/pagerduty"
    )
    assert e2e_config == kind_config
