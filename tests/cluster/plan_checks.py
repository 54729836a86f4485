"""Checks of a bootstrap plan, shared by the tests of the real plan (test_plan.py) and the tests
that break the script on purpose and expect the checks to notice (test_plan_catches.py)."""

from __future__ import annotations

from typing import Any

from cluster.cluster_lib import (
    BUILTIN_NAMESPACES,
    CLUSTER_SCOPED,
    REMOTE_KUSTOMIZATIONS,
    REPO,
    UPSTREAM_NAMESPACES,
    Command,
    Plan,
    yaml_docs,
)
from support.kustomize import kustomize_objects


def _applied_objects(cmd: Command, staging: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The objects a kubectl apply sends, or None for a remote manifest."""
    args = cmd.kubectl
    if "-k" in args:
        directory = args[args.index("-k") + 1]
        if directory == "manifests/deploy/kind":
            return staging
        if directory in REMOTE_KUSTOMIZATIONS:
            return None
        return kustomize_objects(REPO / directory)
    path = cmd.option("-f")
    assert path, cmd.line
    if "://" in path:
        return None
    return list(yaml_docs(REPO / path, recursive="--recursive" in args))


def check_namespaces_exist_before_use(
    plan: Plan, staging_render: list[dict[str, Any]]
) -> tuple[set[str], int]:
    """Walk the plan in order: every namespace a command applies into, creates a Secret in or
    waits in must exist by then (built in, created by an upstream release, or applied earlier).
    Returns the namespaces known at the end and how many uses were checked."""
    known = set(BUILTIN_NAMESPACES)
    checked = 0
    for cmd in plan.commands:
        if not cmd.is_kubectl:
            continue
        args = cmd.kubectl
        flag_ns = cmd.option("--namespace", "-n")
        if args[0] == "apply":
            objects = _applied_objects(cmd, staging_render)
            if objects is None:
                url = cmd.option("-f") or ""
                for marker, created in UPSTREAM_NAMESPACES.items():
                    if marker in url:
                        known |= created
                remote = cmd.option("-k")
                if remote:
                    assert REMOTE_KUSTOMIZATIONS[remote] <= known, cmd.line
                continue
            # kubectl applies a kustomization's Namespaces first; within files, in file order.
            if "-k" in args:
                known |= {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
            for obj in objects:
                if obj["kind"] == "Namespace":
                    known.add(obj["metadata"]["name"])
                    continue
                if obj["kind"] in CLUSTER_SCOPED:
                    continue
                ns = obj["metadata"].get("namespace") or flag_ns
                assert ns, (
                    f"{obj['kind']}/{obj['metadata'].get('name')} has no namespace: {cmd.line}"
                )
                assert ns in known, f"namespace {ns} used before it exists: {cmd.line}"
                checked += 1
        elif flag_ns:
            assert flag_ns in known, f"namespace {flag_ns} used before it exists: {cmd.line}"
            checked += 1
    return known, checked


def check_creates_follow_checks(plan: Plan) -> None:
    """The cluster, the registry and every Secret are created right after a check that they
    are missing."""
    pairs = [
        (("kind", "get", "clusters"), ("kind", "create", "cluster")),
        (("inspect", "--format", "{{.State.Running}}", "kind-registry"), ("run",)),
    ]
    engine = plan.commands[0].words[2]  # `command -v ENGINE` comes first
    for check, create in pairs:
        if check[0] != "kind":
            check, create = (engine, *check), (engine, *create)
        assert plan.first(*check).index == plan.first(*create).index - 1, create
    for create in plan.find("kubectl", "create", "secret"):
        name, namespace = create.kubectl[3], create.option("--namespace")
        check = plan.commands[create.index - 1]
        assert check.is_kubectl, create.line
        assert check.kubectl == ("get", "secret", "--namespace", namespace, name), create.line


def check_urls_pinned(urls: list[str], versions: dict[str, str]) -> None:
    """Every URL is https, names no `latest`, and carries a version from versions.env as a path
    segment."""
    pinned = {v for k, v in versions.items() if k.endswith("_VERSION")}
    for url in urls:
        assert url.startswith("https://"), url
        assert "latest" not in url, url
        assert set(url.split("/")) & pinned, f"{url} carries no version from hack/versions.env"
