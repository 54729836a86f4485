"""`kubectl kustomize` for tests that render a kustomization (offline: no cluster is needed), and
the walk through what it renders."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def kustomize_objects(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY` as a list of objects in kubectl's apply order; a failed
    render fails the test with kubectl's message."""
    proc = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {directory}: {proc.stderr}"
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a YAML document (or a list of them), outermost first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from mappings(value)
