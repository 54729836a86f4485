"""The pipelines reach kind's local registry: cluster-up sets the triggers' one per-cluster
setting (TriggerBinding techcommerce-cluster) to the plain-HTTP registry, and the runs a webhook
then starts carry it; every tkn command shown for this cluster passes the same values and
mounts the registry Secret as the config.json kaniko reads. The webhook part goes through
Tekton Triggers' own code (hack/tekton-validate render), as tests/tekton/test_triggers.py does."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.cluster_lib import REPO, Plan

VALIDATOR = REPO / ".venv-tools" / "bin" / "tekton-validate"
WEBHOOKS = REPO / "tests" / "tekton" / "webhooks"
WEBHOOK_SECRET = "techcommerce-ci/github-webhook-secret/secret=techcommerce-test-webhook-secret"
KIND_REGISTRY = {"registry": "kind-registry:5000", "insecure-registry": "true"}
BINDING = REPO / "tekton" / "triggers" / "cluster.yaml"


def json_patch(target: Any, patch: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch with the two operations cluster-up uses, "test" and "replace" (what
    `kubectl patch --type json` sends to a custom resource); a failed test fails the patch."""
    result = copy.deepcopy(target)
    for op in patch:
        *parents, last = [int(p) if p.isdigit() else p for p in op["path"].split("/")[1:]]
        node = result
        for part in parents:
            node = node[part]
        if op["op"] == "test":
            assert node[last] == op["value"], f"JSON patch test failed: {op}"
        else:
            assert op["op"] == "replace" and last in (
                range(len(node)) if isinstance(node, list) else node
            ), op
            node[last] = op["value"]
    return result


def binding_patch(plan: Plan) -> tuple[int, list[dict[str, Any]]]:
    [cmd] = [
        c
        for c in plan.find("kubectl", "patch")
        if c.kubectl[1:3] == ("triggerbinding", "techcommerce-cluster")
    ]
    assert cmd.option("--namespace") == "techcommerce-ci"
    assert cmd.option("--type") == "json"
    return cmd.index, json.loads(cmd.option("--patch") or "")


def binding_params(doc: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in doc["spec"]["params"]}


def test_cluster_up_patches_the_triggers_registry_after_applying_them(plan: Plan):
    index, patch = binding_patch(plan)
    applied = [
        c.index
        for c in plan.find("kubectl", "apply")
        if c.option("-f") == "tekton/triggers" or c.option("-k") == "tekton"
    ]
    assert applied and max(applied) < index, "the patch must follow the apply that resets it"
    original = yaml.safe_load(BINDING.read_text())
    patched = json_patch(original, patch)
    # kind's registry, and every other param (step images, package index) as the file has it
    assert binding_params(patched) == {**binding_params(original), **KIND_REGISTRY}
    assert binding_params(original).keys() > KIND_REGISTRY.keys()
    assert {k: v for k, v in patched.items() if k != "spec"} == {
        k: v for k, v in original.items() if k != "spec"
    }


def _render(resources: Path, sample: str) -> dict[str, Any]:
    assert VALIDATOR.is_file(), f"{VALIDATOR} missing: run hack/dev/deps/tekton.sh"
    proc = subprocess.run(
        [
            str(VALIDATOR),
            "render",
            "-resources",
            str(resources),
            "-secret",
            WEBHOOK_SECRET,
            str(WEBHOOKS / f"{sample}.headers"),
            str(WEBHOOKS / f"{sample}.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [outcome] = json.loads(proc.stdout)
    return outcome


@pytest.mark.parametrize("sample", ["push-main-one-service", "push-develop-two-services"])
def test_webhook_cd_runs_push_to_the_registry_cluster_up_sets(
    plan: Plan, tmp_path: Path, sample: str
):
    tekton = tmp_path / "tekton"
    shutil.copytree(REPO / "tekton", tekton, ignore=shutil.ignore_patterns("node_modules"))
    _, patch = binding_patch(plan)
    patched = json_patch(yaml.safe_load(BINDING.read_text()), patch)
    (tekton / "triggers" / "cluster.yaml").write_text(yaml.safe_dump(patched, sort_keys=False))
    outcome = _render(tekton, sample)
    assert outcome["findings"] == []
    [run] = outcome["pipelineRuns"]
    assert run["spec"]["pipelineRef"] == {"name": "cd"}
    given = {p["name"]: p["value"] for p in run["spec"]["params"]}
    assert {k: given[k] for k in KIND_REGISTRY} == KIND_REGISTRY


def _tkn_cd_commands(text: str) -> list[list[str]]:
    """Every `tkn ... pipeline start cd` command in TEXT, as words (continuations joined)."""
    joined = text.replace("\\\n", " ")
    found = re.findall(r"(tkn -n techcommerce-ci pipeline start cd [^\n]*)", joined)
    return [shlex.split(re.sub(r"<[^>]*>", "X", cmd)) for cmd in found]


def _workspaces(words: list[str]) -> dict[str, dict[str, str]]:
    bound = {}
    for i, word in enumerate(words[:-1]):
        if word in {"--workspace", "-w"}:
            fields = dict(f.split("=", 1) for f in words[i + 1].split(","))
            bound[fields.pop("name")] = fields
    return bound


def _params(words: list[str]) -> dict[str, str]:
    return dict(
        words[i + 1].split("=", 1) for i, w in enumerate(words[:-1]) if w in {"--param", "-p"}
    )


@pytest.mark.parametrize("source", ["hack/cluster/README.md", "cluster-up's next steps"])
def test_tkn_commands_for_kind_push_over_http_with_a_config_json(plan: Plan, source: str):
    text = plan.stderr if source.startswith("cluster-up") else (REPO / source).read_text()
    commands = _tkn_cd_commands(text)
    assert commands, f"no tkn pipeline start cd in {source}"
    for words in commands:
        params = _params(words)
        assert {k: params.get(k) for k in KIND_REGISTRY} == KIND_REGISTRY, words
        docker_config = _workspaces(words)["docker-config"]
        assert docker_config == {
            "secret": "techcommerce-registry",
            "item": ".dockerconfigjson=config.json",
        }
