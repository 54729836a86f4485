"""CD for real (the CI/CD issue's scenarios 1 to 4 and 6): a commit pushed to main on the
cluster's git server and its signed push delivered by hack/send-webhook start a `cd` PipelineRun
through the EventListener (GitHub interceptor, CEL). The run clones from the git server; runs the
services' tests against a PostgreSQL sidecar, bandit and trivy over the checkout (trivy's
database is the e2e one, pulled from the in-cluster registry); builds and pushes the changed
services with kaniko; scans the pushed images; deploys staging by digest with a real
`kubectl apply`, waits for the rollouts and smoke tests them; then waits at the approval gate.
Nobody outside the approvers may answer it (RBAC, then the gate's own list); an approver approves
with the gate's CLI and production gets the same digests. A release that fails production's smoke
test is rolled back by the run's `finally`; `tkn pipeline start rollback` takes production back
to the previous or a given release. A push to develop deploys staging and stops.

The first commit changes shared code (services/kit), so every service is built: the first
pipeline release of an environment must pin every service by digest (tekton/scripts/deploy.sh).

One change to the repository is the e2e's own (`fit_one_node`, pushed before the scenarios
without a delivery): the node has 2 CPUs, and the overlays' CPU requests (production 2.5 CPUs,
staging 0.75) beside the platform's and a run's test step do not fit on it, so both overlays
request 25m per pod here; replicas, limits, memory and everything else are the overlays' own.
It also marks production's product-api with E2E_ENVIRONMENT=production, which scenario 3's bad
release reads to fail only there."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from cluster_e2e.kube import Cluster, eventually
from cluster_e2e.pipelines import (
    CI,
    TKN_ENV,
    GitServer,
    Listener,
    cluster_settings,
    listener,
    outcome,
    push_and_deliver,
    results,
    succeeded,
    task_runs,
    tkn,
    tkn_start,
    wait_finished,
    wait_task,
)

APPROVAL_ENV = "TECHCOMMERCE_E2E_APPROVALTASK"
SERVICES = ("product-api", "order-api", "frontend")
CD_SECONDS = 3000  # tests, scans, three kaniko builds and a rollout on two cores
APPROVERS_GROUP = "techcommerce-release-managers"  # tekton/rbac/approvers.yaml
STAGING, PRODUCTION = "techcommerce-staging", "techcommerce-production"
ENTRY_POINT = "services/product_api/__main__.py"

ONE_NODE_CPU = "25m"


def fit_one_node(environment: str):
    """An edit of ENVIRONMENT's overlay (a kustomization.yaml's text): every pod requests
    ONE_NODE_CPU; production's product-api gets E2E_ENVIRONMENT=production."""

    def edit(text: str) -> str:
        overlay = yaml.safe_load(text)
        cpu = (
            "- op: replace\n  path: /spec/template/spec/containers/0/resources/requests/cpu\n"
            f"  value: {ONE_NODE_CPU}\n"
        )
        overlay["patches"] += [
            {"target": {"kind": "Deployment", "name": "product-api|order-api|frontend"},
             "patch": cpu},
            {"target": {"kind": "StatefulSet", "name": "postgres"}, "patch": cpu},
        ]  # fmt: skip
        if environment == "production":
            overlay.setdefault("configMapGenerator", []).append(
                {"name": "product-api", "behavior": "merge",
                 "literals": ["E2E_ENVIRONMENT=production"]}
            )  # fmt: skip
        header = "# e2e: sized for one 2-CPU node (tests/cluster_e2e/test_12_cd.py)\n"
        return header + yaml.safe_dump(overlay, sort_keys=False)

    return edit


# Scenario 3's bad release: product-api's list fails where E2E_ENVIRONMENT=production, so the
# release passes the tests (lint included) and staging, and fails production's smoke test.
WITH_DEFECT = '''"""`python -m product_api` with an e2e defect: GET /products fails in production"""

import os

from aiohttp import web

from kit.serve import run
from product_api.app import create_app
from product_api.settings import SERVICE, load_settings


@web.middleware
async def defect(request: web.Request, handler) -> web.StreamResponse:
    if request.path == "/products":
        return web.json_response({"error": {"code": "e2e_defect", "message": "e2e"}}, status=500)
    return await handler(request)


def create_app_with_defect(settings):
    app = create_app(settings)
    if os.environ.get("E2E_ENVIRONMENT") == "production":
        app.middlewares.append(defect)
    return app


if __name__ == "__main__":
    run(SERVICE, load_settings, create_app_with_defect)
'''


@pytest.fixture(scope="module")
def git(cluster: Cluster, tmp_path_factory) -> GitServer:
    server = GitServer(cluster, tmp_path_factory.mktemp("git"))
    server.commit(
        "main",
        {f"manifests/overlays/{env}/kustomization.yaml": fit_one_node(env)
         for env in ("staging", "production")},
        "e2e: size the overlays for one 2-CPU node",
    )  # fmt: skip
    return server  # the commit was pushed without a delivery: it started no run


@pytest.fixture(scope="module")
def target(cluster: Cluster, tmp_path_factory) -> Listener:
    return listener(cluster, tmp_path_factory.mktemp("listener"))


@pytest.fixture(scope="module")
def release(cluster: Cluster, git: GitServer, target: Listener, report) -> dict:
    """Scenario 1 up to the approval gate: the run, the commit, the built images by service."""
    began = time.monotonic()
    after, run = push_and_deliver(
        cluster, git, target, "main", "services/kit/__init__.py", "a change to shared code"
    )
    name = run["metadata"]["name"]
    state = wait_task(cluster, name, "approval", CD_SECONDS)
    report(
        f"cd scenario 1 (push to main -> staging -> approval): {name} at {after[:7]}, "
        f"{time.monotonic() - began:.0f} s to the approval gate ({state})"
    )
    return {"run": run, "name": name, "commit": after, "images": built_images(cluster, name)}


def built_images(cluster: Cluster, run: str) -> dict[str, str]:
    """{service: REGISTRY/techcommerce/SERVICE@sha256:...} that RUN's kaniko builds pushed."""
    built = {}
    for taskrun in task_runs(cluster, run)["build"]:
        images = results(taskrun)
        built[images["IMAGE_URL"].split("/")[-1].split(":")[0]] = images["IMAGE_REF"]
    return built


def test_a_signed_push_to_main_starts_a_labelled_cd_run(release: dict):
    run = release["run"]
    assert run["spec"]["pipelineRef"]["name"] == "cd"
    labels = run["metadata"]["labels"]
    assert labels["techcommerce.dev/branch"] == "main"
    assert labels["techcommerce.dev/commit"] == release["commit"][:7]
    assert labels["techcommerce.dev/services"] == "all"
    assert labels["techcommerce.dev/repo"] == "techcommerce"


def test_every_gate_ran_and_passed_before_staging(cluster: Cluster, release: dict):
    states = outcome(cluster, release["name"])
    for task in ("fetch-source", "detect-changes", "python-test", "bandit", "trivy-fs"):
        assert states.get(task) == "True", (task, states)
    assert states["build"] == "True,True,True", states
    assert states["trivy-image"] == "True", states
    assert states["deploy-staging"] == "True", states
    assert sorted(release["images"]) == sorted(SERVICES)
    for service, ref in release["images"].items():
        assert ref.startswith(f"{cluster.registry}/techcommerce/{service}@sha256:"), ref


def history(cluster: Cluster, namespace: str) -> list[dict]:
    """The environment's release record (newest first), as the deploy Task writes it."""
    found = cluster.get("configmap", "techcommerce-deployments", namespace=namespace)
    return json.loads(found["data"]["history.json"])


def assert_released(cluster: Cluster, namespace: str, run: str, commit: str, images: dict):
    """NAMESPACE runs IMAGES, rolled out, and its newest record is RUN's successful release."""
    assert deployed_images(cluster, namespace) == images
    for service in images:
        cluster.rollout_status(f"deployment/{service}", namespace=namespace)
    newest = history(cluster, namespace)[0]
    assert (newest["action"], newest["status"]) == ("deploy", "succeeded"), newest
    assert (newest["commit"], newest["pipelineRun"]) == (commit, run), newest


def test_staging_runs_the_built_digests_and_records_the_release(cluster: Cluster, release: dict):
    assert_released(cluster, STAGING, release["name"], release["commit"], release["images"])
    assert history(cluster, STAGING)[0]["images"] == release["images"]
    [deploy] = task_runs(cluster, release["name"])["deploy-staging"]
    assert results(deploy)["mode"] == "applied"
    assert results(deploy)["smoke-test"] == "passed"


def approval_name(cluster: Cluster, run: str) -> str:
    [custom] = cluster.get(
        f"-l=tekton.dev/pipelineRun={run},tekton.dev/pipelineTask=approval",
        "customruns",
        namespace=CI,
    )["items"]
    return custom["metadata"]["name"]


def impersonating(cluster: Cluster, folder: Path, user: str, *groups: str) -> Path:
    """A copy of the admin kubeconfig that acts as USER in GROUPS (client-go's `as` fields),
    for the gate's CLI, which takes no impersonation flags."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["users"]:
        entry["user"]["as"] = user
        entry["user"]["as-groups"] = ["system:authenticated", *groups]
    path = folder / f"{user}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def approve(cluster: Cluster, kubeconfig: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.environ[APPROVAL_ENV], "approve", name, "-n", CI, "-m", "e2e"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def approve_as_release_manager(cluster: Cluster, folder: Path, run: str) -> None:
    """Approve RUN's gate as a member of the approvers' group, once the gate is waiting."""
    manager = impersonating(cluster, folder, "release-manager", APPROVERS_GROUP)
    name = approval_name(cluster, run)
    eventually(
        lambda: approve(cluster, manager, name).returncode == 0,
        120, interval=5, what=f"release-manager's approval of {name}",
    )  # fmt: skip


def needs_approval_cli() -> None:
    for env in (APPROVAL_ENV, TKN_ENV):
        if not os.environ.get(env):
            pytest.skip(f"needs the approval gate's CLI and tkn ({env}, set by make e2e)")


def test_only_an_approver_may_answer_the_gate_and_production_gets_the_release(
    cluster: Cluster, release: dict, tmp_path: Path, report
):
    """Scenario 2: nobody outside the approvers may answer (RBAC first, then the gate's own
    list); an approver approves with the gate's CLI; production gets the digests staging was
    given and records the release; the run succeeds."""
    needs_approval_cli()
    name = approval_name(cluster, release["name"])
    began = time.monotonic()

    # outside the approvers' group: RBAC refuses the update outright
    developer = approve(cluster, impersonating(cluster, tmp_path, "developer"), name)
    assert developer.returncode != 0
    assert "forbidden" in (developer.stdout + developer.stderr).lower(), developer
    # allowed by RBAC (a cluster admin) but not on the approvers list: the gate refuses
    admin = approve(cluster, impersonating(cluster, tmp_path, "ops-admin", "system:masters"), name)
    assert admin.returncode != 0, admin
    assert succeeded(cluster.get("customrun", name, namespace=CI)) == "Unknown"
    assert deployed_images(cluster, PRODUCTION) == {}

    approve_as_release_manager(cluster, tmp_path, release["name"])
    finished = wait_finished(cluster, release["name"], CD_SECONDS)
    states = outcome(cluster, release["name"])
    assert succeeded(finished) == "True", (states, finished["status"].get("conditions"))
    assert states["approval"] == "True" and states["deploy-production"] == "True", states
    assert "rollback-production" not in states, states
    assert_released(cluster, PRODUCTION, release["name"], release["commit"], release["images"])
    [deploy] = task_runs(cluster, release["name"])["deploy-production"]
    assert results(deploy)["smoke-test"] == "passed"
    report(
        "cd scenario 2 (approval -> production): refused a developer (RBAC) and a cluster admin "
        "outside the approvers (the gate); approved by release-manager with tkn-approvaltask; "
        f"production released the same digests, {time.monotonic() - began:.0f} s"
    )


def released_through_approval(
    cluster: Cluster, git: GitServer, target: Listener, folder: Path, edit, message: str
) -> dict:
    """EDIT the product-api entry point on main, push and deliver it, approve at the gate, wait
    for the end: the run's name, commit, final state, task states and built images."""
    after, run = push_and_deliver(cluster, git, target, "main", ENTRY_POINT, message, edit)
    name = run["metadata"]["name"]
    wait_task(cluster, name, "approval", CD_SECONDS)
    approve_as_release_manager(cluster, folder, name)
    finished = wait_finished(cluster, name, CD_SECONDS)
    return {
        "name": name, "commit": after, "succeeded": succeeded(finished),
        "states": outcome(cluster, name), "images": built_images(cluster, name),
    }  # fmt: skip


@pytest.fixture(scope="module")
def bad(cluster: Cluster, git: GitServer, target: Listener, release: dict, tmp_path_factory):
    """Scenario 3: a release that passes the tests and staging and fails production's smoke
    test (product-api's entry point with DEFECT)."""
    needs_approval_cli()
    began = time.monotonic()
    run = released_through_approval(
        cluster, git, target, tmp_path_factory.mktemp("bad"), lambda _: WITH_DEFECT,
        "product-api: a list that fails in production",
    )  # fmt: skip
    return run | {"seconds": time.monotonic() - began}


def test_a_release_failing_in_production_is_rolled_back_by_finally(
    cluster: Cluster, release: dict, bad: dict, report
):
    """Scenario 3: the run fails at deploy-production, its `finally` rolls production back to the
    last good release (scenario 2's digests) and records both; staging keeps what passed it."""
    states = bad["states"]
    assert bad["succeeded"] == "False", states
    assert sorted(bad["images"]) == ["product-api"], bad["images"]
    assert states["deploy-staging"] == "True" and states["approval"] == "True", states
    assert states["deploy-production"] == "False", states
    assert states["rollback-production"] == "True", states
    [deploy] = task_runs(cluster, bad["name"])["deploy-production"]
    assert results(deploy)["smoke-test"] == "failed"

    assert deployed_images(cluster, PRODUCTION) == release["images"]
    for service in SERVICES:
        cluster.rollout_status(f"deployment/{service}", namespace=PRODUCTION)
    rolled_back, failed = history(cluster, PRODUCTION)[:2]
    assert (failed["status"], failed["commit"]) == ("failed", bad["commit"]), failed
    assert failed["images"]["product-api"] == bad["images"]["product-api"], failed
    assert (rolled_back["action"], rolled_back["status"]) == ("rollback", "succeeded"), rolled_back
    assert rolled_back["images"] == release["images"], rolled_back
    assert deployed_images(cluster, STAGING)["product-api"] == bad["images"]["product-api"]
    report(
        f"cd scenario 3 (a release failing production's smoke test): {bad['name']} at "
        f"{bad['commit'][:7]} passed staging, failed production, `finally` restored the previous "
        f"release; {bad['seconds']:.0f} s (with the approval)"
    )


def start_rollback(cluster: Cluster, git: GitServer, environment: str, **params: str) -> str:
    """`tkn pipeline start rollback` as tekton/README.md's "Rolling back" runs it, with this
    cluster's settings (step images, the PostgreSQL stand-in): the PipelineRun's name."""
    settings = cluster_settings(cluster)
    return tkn_start(
        cluster,
        "rollback",
        {"environment": environment, "repo-url": git.url, **params,
         **{name: settings[name]
            for name in ("git-step-image", "kubectl-step-image", "image-overrides")}},
        "name=shared,volumeClaimTemplateFile=tekton/runs/pvc.yaml",
        f"name=overlay-secrets,secret=techcommerce-{environment}-overlay",
    )  # fmt: skip


def test_tkn_rolls_production_back_to_the_previous_and_to_a_given_release(
    cluster: Cluster, git: GitServer, target: Listener, release: dict, bad: dict,
    tmp_path: Path, report,
):  # fmt: skip
    """Scenario 4: the fix (scenario 3's change reverted) is released to production; then
    `tkn pipeline start rollback -p environment=production` takes production back to the
    previous release (scenario 2's digests, restored by scenario 3's rollback) and `-p
    release=N` forward to the fix; `tkn pipelinerun logs` shows what each did."""
    original = git.git("show", f"{release['commit']}:{ENTRY_POINT}") + "\n"
    began = time.monotonic()
    fix = released_through_approval(
        cluster, git, target, tmp_path, lambda _: original, "product-api: revert the bad list"
    )
    assert fix["succeeded"] == "True", fix["states"]
    assert fix["images"]["product-api"] != release["images"]["product-api"]  # its own revision
    fixed = release["images"] | fix["images"]
    assert_released(cluster, PRODUCTION, fix["name"], fix["commit"], fixed)
    fix_revision = history(cluster, PRODUCTION)[0]["revision"]
    released = time.monotonic()

    name = start_rollback(cluster, git, "production")
    assert succeeded(wait_finished(cluster, name, 900)) == "True", outcome(cluster, name)
    assert deployed_images(cluster, PRODUCTION) == release["images"]
    newest = history(cluster, PRODUCTION)[0]
    assert (newest["action"], newest["status"]) == ("rollback", "succeeded"), newest
    assert "rolling back to revision" in tkn(cluster, "pipelinerun", "logs", name)

    name = start_rollback(cluster, git, "production", release=str(fix_revision))
    assert succeeded(wait_finished(cluster, name, 900)) == "True", outcome(cluster, name)
    assert deployed_images(cluster, PRODUCTION) == fixed
    assert f"rolling back to revision {fix_revision}" in tkn(cluster, "pipelinerun", "logs", name)
    report(
        f"cd scenario 4 (tkn pipeline start rollback, production): the fix {fix['name']} "
        f"released in {released - began:.0f} s; back to the previous release, then release="
        f"{fix_revision}, {time.monotonic() - released:.0f} s for both"
    )


def deployed_images(cluster: Cluster, namespace: str) -> dict[str, str]:
    """{Deployment: its container's image} in NAMESPACE."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in cluster.get("deployments", namespace=namespace)["items"]
    }


def test_a_push_to_develop_deploys_staging_and_stops(
    cluster: Cluster, git: GitServer, target: Listener, release: dict, report
):
    """Scenario 6: develop builds only what changed, deploys staging by digest (the other
    services keep the recorded release's digests) and stops: no approval, production unchanged."""
    git.git("push", "--quiet", git.url, f"{git.head('main')}:refs/heads/develop")  # no delivery
    began = time.monotonic()
    staging_before = deployed_images(cluster, STAGING)
    production_before = deployed_images(cluster, PRODUCTION)
    after, run = push_and_deliver(
        cluster, git, target, "develop", "services/frontend/__init__.py", "frontend on develop"
    )
    name = run["metadata"]["name"]
    assert run["metadata"]["labels"]["techcommerce.dev/branch"] == "develop"
    assert run["metadata"]["labels"]["techcommerce.dev/services"] == "frontend"

    finished = wait_finished(cluster, name, CD_SECONDS)
    states = outcome(cluster, name)
    assert succeeded(finished) == "True", (states, finished["status"].get("conditions"))
    assert states["build"] == "True" and states["deploy-staging"] == "True", states
    assert "approval" not in states and "deploy-production" not in states, states
    frontend = built_images(cluster, name)["frontend"]
    assert frontend != staging_before["frontend"]
    assert deployed_images(cluster, STAGING) == {**staging_before, "frontend": frontend}
    assert deployed_images(cluster, PRODUCTION) == production_before
    report(
        f"cd scenario 6 (push to develop -> staging, stop): {name} at {after[:7]}, frontend only, "
        f"{time.monotonic() - began:.0f} s"
    )
