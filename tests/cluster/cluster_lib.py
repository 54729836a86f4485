"""Read the bootstrap's dry-run plan and the manifests it applies.

`hack/cluster-up --dry-run` prints one command per line, each starting with "+ ". The helpers
here run it (for real: it is a bash script that must not execute anything in a dry-run), split
each line into words the way a shell would, and answer questions about the plan: which
namespaces a command creates or uses, which Secrets it creates, which URLs it fetches.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.kustomize import kustomize_objects

REPO = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "/bin/bash"
CONTEXT = "kind-techcommerce"
# Namespaces every Kubernetes cluster starts with.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# Namespaces the upstream release manifests create (release URL path segment -> namespaces).
UPSTREAM_NAMESPACES = {
    "/tekton-releases/pipeline/": {"tekton-pipelines", "tekton-pipelines-resolvers"},
}
# The kustomizations under hack/cluster that pull remote resources (not renderable offline), with
# the namespaces their objects live in.
REMOTE_KUSTOMIZATIONS = {
    "hack/cluster/manual-approval-gate": {"tekton-pipelines"},
    "hack/cluster/metrics-server": {"kube-system"},
}
# Kinds that live in a namespace (everything the bootstrap applies that is not cluster-scoped).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "ClusterInterceptor",
        "ClusterTriggerBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)


def read_versions(path: Path = REPO / "hack" / "versions.env") -> dict[str, str]:
    versions: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=value: {raw!r}"
        versions[key] = value
    return versions


@dataclass(frozen=True)
class Command:
    """One line of the plan: its words, and its position in the plan."""

    index: int
    words: tuple[str, ...]

    @property
    def line(self) -> str:
        return shlex.join(self.words)

    @property
    def is_kubectl(self) -> bool:
        return bool(self.words) and self.words[0] == "kubectl"

    @property
    def kubectl(self) -> tuple[str, ...]:
        """The kubectl arguments after `kubectl --context NAME`."""
        assert self.is_kubectl
        assert self.words[1] == "--context", self.line
        return self.words[3:]

    def option(self, *names: str) -> str | None:
        """The value of a `--name value` or `--name=value` option, if present."""
        words = self.words
        for i, word in enumerate(words):
            for name in names:
                if word == name and i + 1 < len(words):
                    return words[i + 1]
                if word.startswith(name + "="):
                    return word.split("=", 1)[1]
        return None

    def options(self, name: str) -> list[str]:
        """Every value of a repeatable option (`-f a -f b`)."""
        words = self.words
        return [words[i + 1] for i, w in enumerate(words[:-1]) if w == name]


@dataclass(frozen=True)
class Plan:
    commands: tuple[Command, ...]
    stdout: str
    stderr: str

    def find(self, *prefix: str) -> list[Command]:
        """Commands whose words start with PREFIX; for kubectl, `--context CONTEXT` is skipped
        (find("kubectl", "apply") matches `kubectl --context kind-techcommerce apply ...`)."""
        found = []
        for cmd in self.commands:
            words = ("kubectl", *cmd.kubectl) if cmd.is_kubectl else cmd.words
            if words[: len(prefix)] == prefix:
                found.append(cmd)
        return found

    def first(self, *prefix: str) -> Command:
        found = self.find(*prefix)
        assert found, f"no command starting with {' '.join(prefix)!r} in the plan"
        return found[0]

    def urls(self) -> list[str]:
        return [w for c in self.commands for w in c.words if "://" in w]


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    for name in ("CLUSTER_NAME", "CONTAINER_ENGINE", "DRY_RUN"):
        if env is None or name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [BASH, str(cwd / "hack" / script), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def parse_plan(stdout: str, stderr: str = "") -> Plan:
    commands = []
    for i, line in enumerate(stdout.splitlines()):
        assert line.startswith("+ "), f"plan line {i + 1} does not start with '+ ': {line!r}"
        commands.append(Command(i, tuple(shlex.split(line[2:]))))
    return Plan(tuple(commands), stdout, stderr)


def dry_run(
    script: str = "cluster-up", *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> Plan:
    proc = run_script(script, "--dry-run", *args, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return parse_plan(proc.stdout, proc.stderr)


def yaml_docs(path: Path, recursive: bool = False) -> Iterator[dict[str, Any]]:
    """The objects `kubectl apply -f PATH [--recursive]` would send, in file order."""
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(
            p for p in path.glob(pattern) if p.suffix in {".yaml", ".yml", ".json"} and p.is_file()
        )
    else:
        files = [path]
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind"):
                if doc["kind"].endswith("List") and "items" in doc:
                    yield from doc["items"]
                else:
                    yield doc


def render_staging_bootstrap(tmp: Path) -> list[dict[str, Any]]:
    """Render manifests/deploy/kind (the kind overlay + the staging Secrets) in a copy of the
    repository, with freshly generated secret files (they are gitignored in .cluster/secrets, so
    a clean clone has none; the bootstrap generates them the same way)."""
    shutil.copytree(REPO / "manifests", tmp / "manifests", ignore=shutil.ignore_patterns("secrets"))
    subprocess.run(
        ["bash", str(REPO / "hack" / "gen-secrets.sh"), str(tmp / "manifests/overlays/staging")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return kustomize_objects(tmp / "manifests" / "deploy" / "kind")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template.get("spec") if isinstance(template, dict) else None


def secret_refs(pod: dict[str, Any]) -> set[str]:
    """Names of the Secrets a pod spec needs."""
    names: set[str] = set()
    for ips in pod.get("imagePullSecrets") or []:
        names.add(ips["name"])
    for volume in pod.get("volumes") or []:
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "secret" in source:
                names.add(source["secret"]["name"])
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
        for env_from in container.get("envFrom") or []:
            if "secretRef" in env_from:
                names.add(env_from["secretRef"]["name"])
    return names


def images(pod: dict[str, Any]) -> list[str]:
    return [c["image"] for c in (pod.get("initContainers") or []) + (pod.get("containers") or [])]


def shell_scripts(roots: tuple[str, ...] = ("hack", "tekton", ".ci")) -> list[Path]:
    """Every *.sh file and every file with a sh/bash shebang under ROOTS (no virtualenvs, no
    node_modules)."""
    found: set[Path] = set()
    for root in roots:
        for path in (REPO / root).rglob("*"):
            rel = path.relative_to(REPO)
            if any(part.startswith(".venv") or part == "node_modules" for part in rel.parts):
                continue
            if not path.is_file():
                continue
            if path.suffix == ".sh":
                found.add(path)
                continue
            try:
                with path.open("rb") as fh:
                    first = fh.readline(200)
            except OSError:
                continue
            if first.startswith(b"#!") and (
                first.rstrip().endswith((b"/sh", b"/bash", b" sh", b" bash"))
            ):
                found.add(path)
    return sorted(found)
