"""The repository's Tasks, Pipelines and PipelineRuns (and the PipelineRuns the triggers create)
against the openAPIV3Schema of Tekton's own CRDs: what the API server checks, with strict field
validation, before Tekton's admission webhook sees an object. An independent second opinion to
hack/tekton-validate's decoding into Tekton's Go types.

The CRDs come from ../shared/schemas/tekton-pipeline (Tekton Pipelines v1.15.0's config/300-crds,
beside the clone); without that directory these tests skip."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from tekton.tekton_helpers import ROOT, TEKTON, run

SCHEMAS = ROOT.parent / "shared" / "schemas" / "tekton-pipeline"
pytestmark = pytest.mark.skipif(
    not SCHEMAS.is_dir(),
    reason=f"{SCHEMAS} (Tekton's CRDs, from ../shared) is not beside the clone",
)
CRDS = {
    "Task": "300-task.yaml",
    "Pipeline": "300-pipeline.yaml",
    "PipelineRun": "300-pipelinerun.yaml",
}


def structural(schema: dict) -> dict:
    """An OpenAPI v3 structural schema as JSON Schema with the API server's strictness: objects
    reject fields their schema does not list, unless x-kubernetes-preserve-unknown-fields."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.pop("x-kubernetes-int-or-string", False):
                node.pop("type", None)
                node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
            for key in [k for k in node if k.startswith("x-kubernetes-")]:
                node.pop(key)
            if node.get("type") == "object" and "properties" in node and not preserve:
                node.setdefault("additionalProperties", False)
            for key, value in node.items():
                if key == "properties":
                    for child in value.values():
                        walk(child)
                elif key != "enum":
                    walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(s)
    return s


@pytest.fixture(scope="module")
def validators() -> dict:
    out = {}
    for kind, file in CRDS.items():
        crd = yaml.safe_load((SCHEMAS / file).read_text())
        [v1] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        out[kind] = jsonschema_rs.Draft4Validator(structural(v1["schema"]["openAPIV3Schema"]))
    return out


def repository_objects() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(TEKTON.rglob("*.yaml")):
        if path.name.startswith("."):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion") == "tekton.dev/v1" and doc.get("kind") in CRDS:
                out.append(
                    (f"{path.relative_to(ROOT)} {doc['kind']}/{doc['metadata'].get('name')}", doc)
                )
    return out


def errors(validators, doc) -> list[str]:
    return [f"{e.instance_path}: {e.message}" for e in validators[doc["kind"]].iter_errors(doc)]


def test_the_schema_is_strict(validators):
    task = yaml.safe_load((TEKTON / "tasks" / "git-clone" / "git-clone.yaml").read_text())
    assert errors(validators, task) == []
    task["spec"]["steps"][0]["imagePullPolicyy"] = "Always"
    assert any("imagePullPolicyy" in e for e in errors(validators, task))
    task = yaml.safe_load((TEKTON / "tasks" / "git-clone" / "git-clone.yaml").read_text())
    task["spec"]["steps"][0]["env"][0] = {"name": "URL", "value": 5}
    assert any("is not of type" in e for e in errors(validators, task))


@pytest.mark.parametrize("name_and_doc", repository_objects(), ids=lambda x: x[0])
def test_repository_object_matches_the_crd_schema(validators, name_and_doc):
    _, doc = name_and_doc
    assert errors(validators, doc) == []


def test_pipeline_runs_created_by_the_triggers_match_the_crd_schema(validators, validator):
    webhooks = Path(__file__).parent / "webhooks"
    samples = ["push-main-one-service", "pull-request-opened", "push-develop-two-services"]
    args = [p for s in samples for p in (webhooks / f"{s}.headers", webhooks / f"{s}.json")]
    result = run(
        [
            validator,
            "render",
            "-resources",
            TEKTON,
            "-secret",
            "techcommerce-ci/github-webhook-secret/secret=techcommerce-test-webhook-secret",
            *args,
        ]
    )
    assert result.returncode == 0, result.stderr
    runs = [pr for o in json.loads(result.stdout) for pr in o["pipelineRuns"]]
    assert len(runs) == len(samples)
    for pr in runs:
        assert errors(validators, pr) == []
