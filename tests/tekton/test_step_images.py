"""Step and sidecar images and the Python package index: every Task takes each image it runs as
a param whose default is the pinned upstream image, every Pipeline passes the params its Tasks
take, and webhook-started runs get them from the TriggerBinding techcommerce-cluster, so a
cluster overrides them in one place (tekton/README.md, "Step images and the package index")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tekton.tekton_helpers import TEKTON, edit
from tekton.test_triggers import cluster_binding, params, render

# The one name per tool and its pinned upstream image (the Tasks' default, and the binding's).
STEP_IMAGES = {
    "git-step-image": "alpine/git:2.49.1",
    "python-step-image": "python:3.11.14-slim-bookworm",
    "postgres-step-image": "postgres:15.14-alpine",
    "trivy-step-image": "aquasec/trivy:0.74.0",
    "kaniko-step-image": "gcr.io/kaniko-project/executor:v1.24.0-debug",
    "kubectl-step-image": "alpine/k8s:1.34.5",
}
PIP_INDEX = "pip-index-url"
BASE_IMAGE = "service-base-image"  # the Dockerfile's BASE_IMAGE for kaniko; empty: its own
# trivy's database repository (empty: trivy's own) and its built-in misconfiguration checks
TRIVY_DB = {"trivy-db-repository": "", "trivy-skip-check-update": "false"}
# the overlays' other images (postgres) as the cluster gets them; empty: the overlays' own
IMAGE_OVERRIDES = {"image-overrides": ""}
# The cluster-wide settings: step images, the package index, the services' base image (the
# binding carries them; the last two default to empty, meaning pip's and the Dockerfile's own).
CLUSTER_PARAMS = {**STEP_IMAGES, PIP_INDEX: "", BASE_IMAGE: "", **TRIVY_DB, **IMAGE_OVERRIDES}
# An exact version tag (not latest) or a digest, as the validator's house rule says.
PINNED = re.compile(r"^[a-z0-9.\-/:_]+(@sha256:[0-9a-f]{64}|:v?[0-9][0-9A-Za-z.\-_]*)$")
IMAGE_PARAM = re.compile(r"^\$\(params\.([a-z0-9-]+)\)$")
# Tasks whose steps install Python packages (pip in the step, or in the image they build).
PIP_TASKS = {"python-test", "bandit", "kaniko-build"}


def load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def tasks(tekton: Path = TEKTON) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for f in tekton.glob("tasks/*/*.yaml") for d in load(f)}


def pipelines(tekton: Path = TEKTON) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for f in tekton.glob("pipelines/*.yaml") for d in load(f)}


def declared(spec: dict) -> dict[str, dict]:
    return {p["name"]: p for p in spec.get("params", [])}


def containers(task: dict) -> list[dict]:
    return task["spec"].get("steps", []) + task["spec"].get("sidecars", [])


def cluster_params(spec: dict) -> dict[str, str]:
    """The step-image and package-index params SPEC declares, with their defaults."""
    return {n: p.get("default") for n, p in declared(spec).items() if n in CLUSTER_PARAMS}


def pipeline_tasks(pipeline: dict) -> list[dict]:
    """The pipeline's tasks and finally tasks that run a repository Task (not the ApprovalTask)."""
    spec = pipeline["spec"]
    return [pt for pt in spec["tasks"] + spec.get("finally", []) if "kind" not in pt["taskRef"]]


def test_every_step_and_sidecar_image_is_a_param_with_its_pinned_default():
    found = set()
    for name, task in tasks().items():
        params_ = declared(task["spec"])
        for container in containers(task):
            where = f"{name}/{container['name']}"
            m = IMAGE_PARAM.match(container["image"])
            assert m, f"{where}: image {container['image']!r} is not $(params.NAME)"
            param = params_[m[1]]
            assert param.get("type", "string") == "string", where
            assert m[1] in STEP_IMAGES, f"{where}: {m[1]} is not one of the step-image names"
            assert param["default"] == STEP_IMAGES[m[1]], where
            assert PINNED.match(param["default"]) and not param["default"].endswith(":latest")
            found.add(m[1])
        # every image param a Task declares is used by one of its containers
        used = {IMAGE_PARAM.match(c["image"])[1] for c in containers(task)}
        assert {n for n in params_ if n.endswith("-step-image")} == used, name
    assert found == set(STEP_IMAGES), "a name nobody uses"


def test_the_pins_are_exact_and_trivy_is_the_tested_version():
    for image in STEP_IMAGES.values():
        assert PINNED.match(image) and not image.endswith(":latest"), image
    assert STEP_IMAGES["trivy-step-image"] == "aquasec/trivy:0.74.0"
    texts = [p.read_text() for p in TEKTON.rglob("*") if p.suffix in {".yaml", ".md"}]
    assert not any("0.69.3" in t for t in texts), "an old trivy pin is left"


def test_tasks_that_install_python_packages_take_the_index_through_env():
    for name, task in tasks().items():
        params_ = declared(task["spec"])
        if name not in PIP_TASKS:
            assert PIP_INDEX not in params_, name
            assert "pip install" not in yaml.safe_dump(task), f"{name} runs pip without an index"
            continue
        assert params_[PIP_INDEX]["default"] == "", "empty: pip's own default index"
        [step] = task["spec"]["steps"]
        env = {e["name"]: e.get("value") for e in step["env"]}
        assert env["PIP_INDEX_URL"] == "$(params.pip-index-url)", name
        assert "$(params.pip-index-url)" not in step["script"], name


def unpassed(pipeline: str, tekton: Path = TEKTON) -> tuple[list[tuple[str, str]], set[str]]:
    """The (pipeline task, param) pairs whose Task takes a step image or the index that the
    pipeline task does not pass as $(params.SAME-NAME), and every such param its Tasks take."""
    all_tasks = tasks(tekton)
    missing, needed = [], set()
    for pt in pipeline_tasks(pipelines(tekton)[pipeline]):
        wanted = cluster_params(all_tasks[pt["taskRef"]["name"]]["spec"])
        passed = {p["name"]: p["value"] for p in pt.get("params", [])}
        missing += [(pt["name"], n) for n in wanted if passed.get(n) != f"$(params.{n})"]
        needed |= set(wanted)
    return missing, needed


@pytest.mark.parametrize("pipeline", ["ci", "cd", "rollback"])
def test_every_pipeline_passes_every_image_param_its_tasks_declare(pipeline):
    missing, needed = unpassed(pipeline)
    assert missing == []
    # the Pipeline declares exactly those, with the Tasks' defaults
    assert cluster_params(pipelines()[pipeline]["spec"]) == {n: CLUSTER_PARAMS[n] for n in needed}


def test_the_cluster_binding_carries_every_image_param_with_the_pinned_default():
    binding = cluster_binding()
    assert {k: v for k, v in binding.items() if k in CLUSTER_PARAMS} == CLUSTER_PARAMS
    templates = {d["metadata"]["name"]: d for d in load(TEKTON / "triggers" / "templates.yaml")}
    for name, template in templates.items():
        pipeline = pipelines()[name]
        wanted = set(cluster_params(pipeline["spec"]))
        tt_params = declared(template["spec"])
        # no defaults in the templates: the binding is the one place
        assert all("default" not in tt_params[n] for n in wanted), name
        [run] = template["spec"]["resourcetemplates"]
        passed = {p["name"]: p["value"] for p in run["spec"]["params"]}
        assert {n: passed[n] for n in wanted} == {n: f"$(tt.params.{n})" for n in wanted}
    triggers = load(TEKTON / "triggers" / "triggers.yaml")
    for trigger in triggers:
        refs = [b.get("ref") for b in trigger["spec"]["bindings"]]
        assert "techcommerce-cluster" in refs, trigger["metadata"]["name"]


# ---- what a run's steps would run: PipelineRun params -> Pipeline -> Task -> step image ------


def step_images(run_params: dict[str, str], tekton: Path = TEKTON, pipeline: str = "cd"):
    """{(pipeline task, container): image} for a PipelineRun of PIPELINE with RUN_PARAMS: each
    value goes through the Pipeline's params (defaults for the unset ones) into its tasks'
    params, then into the Task's $(params.NAME) image (the Task's default when unpassed)."""
    spec = pipelines(tekton)[pipeline]["spec"]
    values = {n: p.get("default") for n, p in declared(spec).items()} | run_params
    all_tasks = tasks(tekton)
    out = {}
    for pt in pipeline_tasks(pipelines(tekton)[pipeline]):
        task = all_tasks[pt["taskRef"]["name"]]
        task_values = {n: p.get("default") for n, p in declared(task["spec"]).items()}
        for p in pt.get("params", []):
            m = IMAGE_PARAM.match(str(p["value"]))
            task_values[p["name"]] = values[m[1]] if m else p["value"]
        for c in containers(task):
            out[(pt["name"], c["name"])] = task_values[IMAGE_PARAM.match(c["image"])[1]]
    return out


def step_image_name(task_image: str) -> str:
    return IMAGE_PARAM.match(task_image)[1]


@pytest.fixture(scope="module")
def webhook_runs(validator):
    result, outcomes = render(validator, ["push-main-one-service", "pull-request-opened"])
    assert result.returncode == 0, result.stderr
    return outcomes


@pytest.mark.parametrize(
    ("sample", "pipeline"), [("push-main-one-service", "cd"), ("pull-request-opened", "ci")]
)
def test_a_webhook_run_ends_with_the_pinned_images(webhook_runs, sample, pipeline):
    [run] = webhook_runs[sample]["pipelineRuns"]
    assert webhook_runs[sample]["findings"] == []
    got = params(run)
    wanted = cluster_params(pipelines()[pipeline]["spec"])
    assert {n: got[n] for n in wanted} == wanted
    images = step_images(got, pipeline=pipeline)
    all_tasks = tasks()
    for (pt_name, container), image in images.items():
        [pt] = [t for t in pipeline_tasks(pipelines()[pipeline]) if t["name"] == pt_name]
        [c] = [c for c in containers(all_tasks[pt["taskRef"]["name"]]) if c["name"] == container]
        assert image == STEP_IMAGES[step_image_name(c["image"])], (pt_name, container)


MIRROR = "127.0.0.1:5000/mirror"
INDEX = "http://python-index.techcommerce-ci.svc:8080/simple/"


def test_an_override_in_the_cluster_binding_reaches_every_step(validator, tekton_copy):
    """A cluster sets its own copies in the binding alone: the runs the webhooks start carry
    them, and every step and sidecar of every Task those runs use would run them."""
    binding = tekton_copy / "triggers" / "cluster.yaml"
    overrides = {n: f"{MIRROR}/{image.rsplit('/', 1)[-1]}" for n, image in STEP_IMAGES.items()}
    for name, image in overrides.items():
        edit(
            binding,
            f"- name: {name}\n      value: {STEP_IMAGES[name]}\n",
            f"- name: {name}\n      value: {image}\n",
        )
    edit(
        binding,
        '- name: pip-index-url\n      value: ""',
        f"- name: pip-index-url\n      value: {INDEX}",
    )
    base = f"{MIRROR}/python-base:3.11.14-bookworm"
    edit(
        binding,
        '- name: service-base-image\n      value: ""',
        f"- name: {BASE_IMAGE}\n      value: {base}",
    )
    samples = {"push-main-one-service": "cd", "pull-request-opened": "ci"}
    result, outcomes = render(validator, list(samples), resources=tekton_copy)
    assert result.returncode == 0, result.stderr
    all_tasks = tasks(tekton_copy)
    for sample, pipeline in samples.items():
        [run] = outcomes[sample]["pipelineRuns"]
        assert outcomes[sample]["findings"] == []
        got = params(run)
        assert got[PIP_INDEX] == INDEX
        assert got[BASE_IMAGE] == base
        images = step_images(got, tekton_copy, pipeline)
        assert images, pipeline
        for (pt_name, container), image in images.items():
            [pt] = [
                t for t in pipeline_tasks(pipelines(tekton_copy)[pipeline]) if t["name"] == pt_name
            ]
            [c] = [
                c for c in containers(all_tasks[pt["taskRef"]["name"]]) if c["name"] == container
            ]
            assert image == overrides[step_image_name(c["image"])], (pipeline, pt_name, container)


def test_a_pipeline_that_forgets_to_pass_an_image_is_caught(tekton_copy):
    """The checks above can fail: a pipeline task that drops its image param would run the
    Task's default although the run asked for a mirror."""
    edit(
        tekton_copy / "pipelines" / "rollback.yaml",
        "        - name: kubectl-step-image\n          value: $(params.kubectl-step-image)\n",
        "",
    )
    assert unpassed("rollback", tekton_copy)[0] == [("rollback", "kubectl-step-image")]
    images = step_images({"kubectl-step-image": f"{MIRROR}/k8s:1.34.5"}, tekton_copy, "rollback")
    assert images[("rollback", "rollback")] == STEP_IMAGES["kubectl-step-image"]
