"""@ibm/tekton-lint over every Tekton file at once, the embedded step scripts, and the shape of
the pipelines that the validators cannot know is intended (gates, guards, timeouts)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tekton.tekton_helpers import ROOT, SCRIPTS, TEKTON, edit, run


def lint(tekton_lint, directory):
    return run(
        [tekton_lint, "--config", directory, "--format", "json", f"{directory}/**/*.yaml"],
        cwd=ROOT,
        env={"TL_CACHE_DIR": str(ROOT / ".venv-tools" / "tekton-lint" / "cache")},
    )


def problems(result) -> list[dict]:
    start = result.stdout.find("[")
    assert start != -1, result.stdout + result.stderr
    return json.loads(result.stdout[start:])


def test_tekton_lint_finds_no_error(tekton_lint):
    result = lint(tekton_lint, TEKTON)
    assert result.returncode == 0, result.stdout + result.stderr
    errors = [p for p in problems(result) if p["level"] == "error"]
    assert errors == []


@pytest.mark.parametrize(
    ("file", "old", "new", "rule"),
    [
        (
            "pipelines/cd.yaml",
            "        - name: environment\n          value: staging\n",
            "",
            "techcommerce#no-missing-param",
        ),
        (
            "pipelines/ci.yaml",
            "$(tasks.detect-changes.results.services[*])",
            "$(tasks.detect-changes.results.service-list[*])",
            "techcommerce#no-undefined-result",
        ),
        (
            "pipelines/rollback.yaml",
            "        name: rollback\n      timeout: 30m",
            "        name: roll-back\n      timeout: 30m",
            "techcommerce#no-missing-resource",
        ),
        (
            "pipelines/ci.yaml",
            "workspace: shared\n",
            "workspace: sharde\n",
            "techcommerce#no-missing-workspace",
        ),
    ],
)
def test_tekton_lint_reports_broken_copies(tekton_lint, tekton_copy, file, old, new, rule):
    edit(tekton_copy / file, old, new)
    result = lint(tekton_lint, tekton_copy)
    assert result.returncode == 1
    assert rule in {p["rule"] for p in problems(result) if p["level"] == "error"}


def test_embedded_scripts_match_their_files():
    result = run(["python3", SCRIPTS / "embed.py", "--check"])
    assert result.returncode == 0, result.stderr


def test_embed_check_notices_a_stale_task(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("embed", SCRIPTS / "embed.py")
    embed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embed)
    task = (TEKTON / "tasks" / "git-clone" / "git-clone.yaml").read_text()
    assert embed.render(task) == task
    stale = task.replace("set -eu\n", "set -eu\n        echo stale\n", 1)
    assert embed.render(stale) == task
    # The rendered step keeps the file's lines, indented under the step.
    body = (SCRIPTS / "git-clone.sh").read_text().split("\n", 1)[1]
    steps = yaml.safe_load(task)["spec"]["steps"]
    assert steps[0]["script"].split("\n", 2)[2] == body


def test_embedded_scripts_carry_the_helpers_they_source():
    """A Task's script cannot read files of the checkout: the helper a step script sources
    (python-step.sh) is written into the Task in its place."""
    helper = (SCRIPTS / "python-step.sh").read_text().split("\n", 1)[1]
    for task in sorted((TEKTON / "tasks").glob("*/*.yaml")):
        for step in yaml.safe_load(task.read_text())["spec"].get("steps", []):
            script = step.get("script", "")
            assert '"$(dirname "$0")/' not in script, f"{task.name}: {step['name']}"
            if "source: tekton/scripts/bandit.sh" in script:
                assert helper in script


def load(name: str) -> dict:
    return yaml.safe_load((TEKTON / "pipelines" / f"{name}.yaml").read_text())


def tasks_by_name(pipeline: dict) -> dict:
    spec = pipeline["spec"]
    return {t["name"]: t for t in spec["tasks"] + spec.get("finally", [])}


def test_production_deploy_is_behind_the_approval_and_the_same_guards():
    tasks = tasks_by_name(load("cd"))
    approval, production = tasks["approval"], tasks["deploy-production"]
    assert approval["taskRef"] == {
        "apiVersion": "openshift-pipelines.org/v1alpha1",
        "kind": "ApprovalTask",
    }
    assert production["runAfter"] == ["approval"]
    # when guards only their own task: production must repeat every guard of the approval.
    for guard in approval["when"]:
        assert guard in production["when"]
    assert {"input": "$(params.stop-after-staging)", "operator": "notin", "values": ["true"]} in (
        production["when"]
    )


def test_cd_order_checks_build_scan_staging():
    tasks = tasks_by_name(load("cd"))
    assert set(tasks["build"]["runAfter"]) == {"python-test", "bandit", "trivy-fs"}
    for check in ("python-test", "bandit", "trivy-fs", "detect-changes"):
        assert tasks[check]["runAfter"] == ["fetch-source"]
    assert tasks["deploy-staging"]["runAfter"] == ["trivy-image"]
    assert tasks["approval"]["runAfter"] == ["deploy-staging"]
    assert {"name": "push", "value": "true"} in tasks["build"]["params"]


def test_ci_never_pushes_and_cd_rolls_production_back_on_failure():
    ci = tasks_by_name(load("ci"))
    assert {"name": "push", "value": "false"} in ci["build"]["params"]
    assert "deploy" not in json.dumps(load("ci")["spec"]["tasks"])
    rollback = tasks_by_name(load("cd"))["rollback-production"]
    assert rollback["when"] == [
        {"input": "$(tasks.deploy-production.status)", "operator": "in", "values": ["Failed"]}
    ]
    assert {"name": "revision", "value": "undo-failed"} in rollback["params"]


def test_run_examples_use_volume_claim_templates_and_the_pvc_cleanup():
    runs = [yaml.safe_load(f.read_text()) for f in sorted((TEKTON / "runs").glob("*.yaml"))]
    runs = [doc for doc in runs if doc["kind"] == "PipelineRun"]
    assert {doc["spec"]["pipelineRef"]["name"] for doc in runs} == {"ci", "cd", "rollback"}
    for doc in runs:
        assert doc["metadata"]["generateName"]
        assert doc["metadata"]["annotations"]["tekton.dev/auto-cleanup-pvc"] == "true"
        shared = next(w for w in doc["spec"]["workspaces"] if w["name"] == "shared")
        assert "volumeClaimTemplate" in shared


def _task(name: str) -> dict:
    return yaml.safe_load((TEKTON / "tasks" / name / f"{name}.yaml").read_text())


def _param(params: list[dict], name: str) -> dict:
    return next(p for p in params if p["name"] == name)


@pytest.mark.parametrize(("task", "step"), [("kaniko-build", 0), ("trivy-image", 0)])
def test_insecure_registry_reaches_the_tool_through_env(task, step):
    """A plain-HTTP registry (kind) must be opted into: a string param defaulting to "false",
    handed to the script as INSECURE_REGISTRY (never interpolated into the script text)."""
    spec = _task(task)["spec"]
    assert _param(spec["params"], "insecure-registry") == {
        "name": "insecure-registry",
        "type": "string",
        "description": _param(spec["params"], "insecure-registry")["description"],
        "default": "false",
    }
    env = {e["name"]: e.get("value") for e in spec["steps"][step]["env"]}
    assert env["INSECURE_REGISTRY"] == "$(params.insecure-registry)"
    assert "insecure-registry" not in spec["steps"][step]["script"]


@pytest.mark.parametrize(
    ("pipeline", "tasks"), [("cd", ["build", "trivy-image"]), ("ci", ["build"])]
)
def test_insecure_registry_is_a_pipeline_param_passed_to_build_and_scan(pipeline, tasks):
    doc = load(pipeline)
    assert _param(doc["spec"]["params"], "insecure-registry")["default"] == "false"
    by_name = tasks_by_name(doc)
    for name in tasks:
        assert {"name": "insecure-registry", "value": "$(params.insecure-registry)"} in (
            by_name[name]["params"]
        ), name


DOCKER_CONFIG_MAPPING = [{"key": ".dockerconfigjson", "path": "config.json"}]
TKN_DOCKER_CONFIG = r"(?:-w|--workspace)[ =](name=docker-config,[^\s\\]+)"


def test_every_docker_config_binding_gives_kaniko_a_config_json():
    """kaniko and trivy read DOCKER_CONFIG/config.json; the registry Secret (type
    kubernetes.io/dockerconfigjson) holds .dockerconfigjson. Every binding, in YAML or as a tkn
    flag in the docs, maps one to the other."""
    yaml_bindings = 0
    for path in sorted(TEKTON.rglob("*.yaml")):
        if "node_modules" in path.parts:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            stack = [doc]
            while stack:
                node = stack.pop()
                if isinstance(node, list):
                    stack.extend(node)
                elif isinstance(node, dict):
                    if node.get("name") == "docker-config" and "secret" in node:
                        assert node["secret"].get("items") == DOCKER_CONFIG_MAPPING, path
                        yaml_bindings += 1
                    stack.extend(node.values())
    assert yaml_bindings >= 2, "tekton/runs/cd-run.yaml and TriggerTemplate cd bind it"
    docs = [TEKTON / "README.md", *sorted(TEKTON.glob("tasks/*/README.md"))]
    flags = [(p, m) for p in docs for m in re.findall(TKN_DOCKER_CONFIG, p.read_text())]
    assert flags, "tekton/README.md shows tkn pipeline start cd with docker-config"
    for path, flag in flags:
        fields = flag.split(",")
        if any(f.startswith("secret=") for f in fields):
            assert "item=.dockerconfigjson=config.json" in fields, (path, flag)
