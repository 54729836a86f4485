"""The project's git-clone, python-test and kaniko-build Tasks run for real, as the pipelines run
them, with the step images and settings this cluster's TriggerBinding `techcommerce-cluster` names
(hack/e2e/deploy.sh): git-clone checks the repository out of the local git server onto a volume
the default StorageClass provisions; python-test lints the checkout and runs the kit's tests
against its PostgreSQL sidecar, with the pinned packages from the in-cluster Python index;
kaniko-build builds product-api from services/Dockerfile on the project's base image, with its
packages from that index, and pushes it to the in-cluster registry by digest; the pushed image
runs in a Pod."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid

import pytest

from cluster_e2e.kube import Cluster, eventually
from cluster_e2e.pipelines import cluster_settings

CI = "techcommerce-ci"
BUILD_SECONDS = 1200  # kaniko unpacks the base, installs, snapshots: minutes on two cores


def apply(cluster: Cluster, obj: dict) -> None:
    cluster.kubectl("-n", CI, "apply", "-f", "-", input=json.dumps(obj))


def task_run(name: str, task: str, params: dict[str, str], claim: str) -> dict:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": name, "namespace": CI, "labels": {"techcommerce.dev/e2e": "ci-build"}},
        "spec": {
            "taskRef": {"name": task},
            "params": [{"name": k, "value": v} for k, v in params.items()],
            "workspaces": [{"name": "source", "persistentVolumeClaim": {"claimName": claim}}],
            "podTemplate": {"securityContext": {"fsGroup": 65532}},
        },
    }


def finished(cluster: Cluster, name: str) -> dict:
    """The TaskRun once it has succeeded; fails the test with its reason if it failed."""

    def done():
        run = cluster.get("taskrun", name, namespace=CI)
        condition = next(
            (c for c in run.get("status", {}).get("conditions", []) if c["type"] == "Succeeded"),
            None,
        )
        if condition and condition["status"] == "False":
            logs = cluster.kubectl(
                "-n",
                CI,
                "logs",
                f"-l=tekton.dev/taskRun={name}",
                "--all-containers",
                "--tail=40",
                check=False,
            ).stdout
            pytest.fail(f"TaskRun {name}: {condition.get('message')}\n{logs}")
        return run if condition and condition["status"] == "True" else None

    return eventually(done, timeout=BUILD_SECONDS, interval=5, what=f"TaskRun {name} to succeed")


def results(run: dict) -> dict[str, str]:
    return {r["name"]: r["value"] for r in run["status"].get("results", [])}


@pytest.fixture(scope="module")
def checkout(cluster: Cluster):
    """The repository at main, cloned by the git-clone Task onto a fresh claim the default
    StorageClass provisions: (claim, commit). Everything made here is removed after."""
    claim = f"e2e-source-{uuid.uuid4().hex[:6]}"
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": CI},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    try:
        settings = cluster_settings(cluster)
        clone = finished(
            cluster,
            apply_run(
                cluster,
                task_run(
                    f"e2e-clone-{claim[-6:]}",
                    "git-clone",
                    {
                        "url": f"git://{cluster.node_address}/techcommerce.git",
                        "revision": "main",
                        "git-step-image": settings["git-step-image"],
                    },
                    claim,
                ),
            ),
        )
        commit = results(clone)["commit"]
        assert re.fullmatch(r"[0-9a-f]{40}", commit), results(clone)
        yield claim, commit
    finally:
        cluster.kubectl(
            "-n",
            CI,
            "delete",
            "taskrun,pod",
            "-l",
            "techcommerce.dev/e2e=ci-build",
            "--wait=true",
            check=False,
            timeout=180,
        )
        cluster.kubectl("-n", CI, "delete", "pvc", claim, "--wait=false", check=False)


def test_python_test_lints_and_runs_tests_against_its_postgres_sidecar(
    cluster: Cluster, checkout, report
):
    claim, commit = checkout
    settings = cluster_settings(cluster)
    run = task_run(
        f"e2e-pytest-{claim[-6:]}",
        "python-test",
        {
            # the kit's tests (they use PostgreSQL) and the kit's coverage: a subset of the
            # suite `make test` runs, with that subset's own gate
            "test-paths": "services/kit/tests",
            "cov-source": "services/kit",
            "coverage-min": "70",
            "python-step-image": settings["python-step-image"],
            "postgres-step-image": settings["postgres-step-image"],
            "pip-index-url": settings["pip-index-url"],
        },
        claim,
    )
    run["spec"]["workspaces"].append({"name": "reports", "emptyDir": {}})
    finished(cluster, apply_run(cluster, run))
    logs = cluster.kubectl(
        "-n", CI, "logs", f"{run['metadata']['name']}-pod", "-c", "step-lint-and-test"
    ).stdout
    assert "pip: installing from PIP_INDEX_URL" in logs
    passed = re.search(r"(\d+) passed", logs)
    assert passed and int(passed.group(1)) > 0, logs[-2000:]
    assert " failed" not in logs, logs[-2000:]
    report(f"python-test at {commit[:7]} in the cluster: {passed.group(0)} (kit tests)")


def test_kaniko_builds_and_pushes_a_service_image_that_runs(cluster: Cluster, checkout, report):
    claim, commit = checkout
    settings = cluster_settings(cluster)
    run = claim[-6:]

    build = finished(
        cluster,
        apply_run(
            cluster,
            task_run(
                f"e2e-kaniko-{run}",
                "kaniko-build",
                {
                    "service": "product-api",
                    "registry": settings["registry"],
                    "commit": commit,
                    "branch": "main",
                    "insecure-registry": settings["insecure-registry"],
                    "cache": "false",
                    "kaniko-step-image": settings["kaniko-step-image"],
                    "pip-index-url": settings["pip-index-url"],
                    "service-base-image": settings["service-base-image"],
                },
                claim,
            ),
        ),
    )
    built = results(build)
    repository = f"{settings['registry']}/techcommerce/product-api"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", built["IMAGE_DIGEST"]), built
    assert built["IMAGE_REF"] == f"{repository}@{built['IMAGE_DIGEST']}"
    assert built["IMAGE_URL"] == f"{repository}:{commit}"

    # the registry holds it under the commit tag, at that digest
    request = urllib.request.Request(
        f"http://{cluster.registry}/v2/techcommerce/product-api/manifests/{commit}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json,"
            "application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Docker-Content-Digest"] == built["IMAGE_DIGEST"]

    # and it runs: the service's code and its packages import in a Pod from that digest
    pod = f"e2e-built-{run}"
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod,
                "namespace": CI,
                "labels": {"techcommerce.dev/e2e": "ci-build"},
            },
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "probe",
                        "image": built["IMAGE_REF"],
                        "command": [
                            "python",
                            "-c",
                            "import aiohttp, aiopg, product_api.app; print('imports ok')",
                        ],
                    }
                ],
            },
        },
    )
    cluster.wait(
        "--for=jsonpath={.status.phase}=Succeeded", f"pod/{pod}", timeout=180, namespace=CI
    )
    assert "imports ok" in cluster.kubectl("-n", CI, "logs", pod).stdout
    report(f"kaniko built product-api at {commit[:7]} in the cluster: {built['IMAGE_REF']}")


def apply_run(cluster: Cluster, run: dict) -> str:
    apply(cluster, run)
    return run["metadata"]["name"]
