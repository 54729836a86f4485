"""Render the kustomize overlays and read the rendered objects (shared by tests/manifests).

Rendering works on a copy of manifests/ in a temporary directory, as a clean checkout has it (the
files git tracks or would add, nothing ignored). The policy and the validators check what a deploy
applies, manifests/deploy/ENV (the overlay and its Secrets): hack/gen-secrets.sh writes the
Secrets into the copy's .cluster/secrets/ENV, exactly as a user does before `kubectl apply -k`,
and the real tree stays untouched.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
TOOLS = REPO / ".venv-tools"
KUBERNETES_VALIDATE = TOOLS / "kubernetes-validate" / "bin" / "kubernetes-validate"
CHECKOV = TOOLS / "checkov" / "bin" / "checkov"
HADOLINT = TOOLS / "hadolint" / "bin" / "hadolint"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# The HTTP services of the platform contract: app name -> (Python package, port). The port is
# the service's own default (DEFAULT_PORT in its settings module); test_ports_agree.py checks that
# every other layer uses the same one.
SERVICES = {
    app: (package, importlib.import_module(f"{package}.settings").DEFAULT_PORT)
    for app, package in (
        ("product-api", "product_api"),
        ("order-api", "order_api"),
        ("frontend", "frontend"),
    )
}


# The environments (namespace techcommerce-ENV each). The other overlays are variants of one of
# them for a local cluster (kind: staging with the local registry's images).
ENVIRONMENTS = ("production", "staging")


def overlay_names() -> list[str]:
    return sorted(p.parent.name for p in (MANIFESTS / "overlays").glob("*/kustomization.yaml"))


def deploy_names() -> list[str]:
    return sorted(p.parent.name for p in (MANIFESTS / "deploy").glob("*/kustomization.yaml"))


def secrets_of(deploy: str, manifests: Path = MANIFESTS) -> str:
    """The environment whose generated Secrets manifests/deploy/DEPLOY composes: the one
    component it names, .cluster/secrets/ENV."""
    kustomization = yaml.safe_load(
        (manifests / "deploy" / deploy / "kustomization.yaml").read_text()
    )
    [component] = kustomization["components"]
    assert Path(component).parent.parts[-2:] == (".cluster", "secrets"), component
    return Path(component).name


def run_kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False
    )


def kustomize(directory: Path) -> str:
    result = run_kustomize(directory)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return result.stdout


def clean_manifests(destination: Path) -> Path:
    """destination/manifests as a fresh clone has it: the files git tracks or would add (so
    work not yet committed counts), never an ignored one such as a generated secret."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "manifests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination / "manifests"


def gen_secrets(*overlays: Path) -> None:
    subprocess.run(
        [str(REPO / "hack" / "gen-secrets.sh"), *map(str, overlays)],
        check=True,
        capture_output=True,
    )


def copy_manifests(destination: Path) -> Path:
    """A clean copy of manifests/ whose every environment has freshly generated Secrets (in
    destination/.cluster/secrets/ENV), so manifests/deploy/ENV renders."""
    target = clean_manifests(destination)
    gen_secrets(*(target / "overlays" / name for name in ENVIRONMENTS))
    return target


@dataclass
class Rendered:
    """One rendered overlay: its YAML text, file and objects."""

    name: str
    path: Path
    text: str
    objects: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_text(cls, name: str, path: Path, text: str) -> Rendered:
        path.write_text(text)
        return cls(name, path, text, [o for o in yaml.safe_load_all(text) if o])

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in kinds]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        return found[0] if found else None

    def workloads(self) -> list[dict[str, Any]]:
        return self.of_kind(*WORKLOAD_KINDS)

    def pod_templates(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(workload, pod template) for every workload."""
        for workload in self.workloads():
            yield workload, workload["spec"]["template"]

    def containers(self) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """(workload, pod spec, container) for every container and init container."""
        for workload, template in self.pod_templates():
            spec = template["spec"]
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                yield workload, spec, container

    def pods_matching(self, selector: dict[str, Any]) -> list[tuple[dict, dict]]:
        """(workload, template) whose pod labels match a label selector in this namespace."""
        return [
            (workload, template)
            for workload, template in self.pod_templates()
            if selector_matches(selector, template["metadata"].get("labels", {}))
        ]

    def config_data(self, kind: str, name: str) -> dict[str, str]:
        obj = self.get(kind, name)
        if kind == "Secret":
            import base64

            data = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            data.update(obj.get("stringData", {}))
            return data
        return dict(obj.get("data", {}))


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels + matchExpressions, or a plain map)."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        match_labels, expressions = selector, []
    else:
        match_labels = selector.get("matchLabels", {})
        expressions = selector.get("matchExpressions", [])
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def container_ports(template: dict[str, Any]) -> dict[str, int]:
    """name -> number for every container port of a pod template (unnamed ports by number)."""
    ports: dict[str, int] = {}
    for container in template["spec"]["containers"]:
        for port in container.get("ports", []):
            ports[port.get("name", str(port["containerPort"]))] = port["containerPort"]
    return ports


def resolve_port(template: dict[str, Any], port: int | str) -> int | None:
    ports = container_ports(template)
    if isinstance(port, int):
        return port if port in ports.values() else None
    return ports.get(port)


def container_env(rendered: Rendered, container: dict[str, Any]) -> dict[str, str]:
    """The environment Kubernetes gives a container: envFrom, env, $(VAR) expansion."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(rendered.config_data("ConfigMap", source["configMapRef"]["name"]))
        if "secretRef" in source:
            env.update(rendered.config_data("Secret", source["secretRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            value = item["value"]
            for name, known in env.items():
                value = value.replace(f"$({name})", known)
            env[item["name"]] = value
        elif "valueFrom" in item:
            ref = item["valueFrom"]
            if "configMapKeyRef" in ref:
                data = rendered.config_data("ConfigMap", ref["configMapKeyRef"]["name"])
                env[item["name"]] = data[ref["configMapKeyRef"]["key"]]
            elif "secretKeyRef" in ref:
                data = rendered.config_data("Secret", ref["secretKeyRef"]["name"])
                env[item["name"]] = data[ref["secretKeyRef"]["key"]]
    return env


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())
