"""ci for branches and pull requests for real (the CI/CD issue's scenario 5): a push to a feature
branch whose name has uppercase letters, `_` and `/` starts a `ci` PipelineRun through the
EventListener that clones from the cluster's git server, runs the tests, bandit and trivy, and
builds the changed service with kaniko without pushing it; a pull_request event starts a `ci`
run too. (test_09 checks that a forged signature, a `ping` and a branch deletion start nothing.)"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from cluster_e2e.kube import Cluster
from cluster_e2e.pipelines import (
    CI,
    SAMPLES,
    GitServer,
    listener,
    new_run,
    outcome,
    pipelineruns,
    push_and_deliver,
    send,
    succeeded,
    wait_finished,
)

CI_SECONDS = 2400
BRANCH = "Feature/E2E_cart-v2"


def registry_has(cluster: Cluster, repository: str, tag: str) -> bool:
    request = urllib.request.Request(
        f"http://{cluster.registry}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise


def test_a_feature_branch_push_runs_ci_to_the_end_without_pushing(
    cluster: Cluster, tmp_path_factory, report
):
    git = GitServer(cluster, tmp_path_factory.mktemp("git-ci"))
    target = listener(cluster, tmp_path_factory.mktemp("listener-ci"))
    git.git("push", "--quiet", git.url, f"{git.head('main')}:refs/heads/{BRANCH}")  # no delivery
    began = time.monotonic()
    after, run = push_and_deliver(
        cluster, git, target, BRANCH, "services/order_api/__init__.py", "order-api on a feature"
    )
    name = run["metadata"]["name"]
    assert run["spec"]["pipelineRef"]["name"] == "ci"
    assert run["metadata"]["annotations"]["techcommerce.dev/branch"] == BRANCH
    label = run["metadata"]["labels"]["techcommerce.dev/branch"]
    assert label.startswith("feature-e2e") and label == label.lower(), label
    assert run["metadata"]["labels"]["techcommerce.dev/services"] == "order-api"

    finished = wait_finished(cluster, name, CI_SECONDS)
    states = outcome(cluster, name)
    assert succeeded(finished) == "True", (states, finished["status"].get("conditions"))
    for task in ("fetch-source", "python-test", "bandit", "trivy-fs", "build"):
        assert states.get(task) == "True", (task, states)
    # built, not pushed: the commit's tag is nowhere in the registry
    assert not registry_has(cluster, "techcommerce/order-api", after)
    report(
        f"ci scenario 5 (push to {BRANCH}): {name} at {after[:7]}, order-api built without "
        f"push, {time.monotonic() - began:.0f} s"
    )


def test_a_pull_request_event_starts_a_ci_run(cluster: Cluster, tmp_path_factory):
    git = GitServer(cluster, tmp_path_factory.mktemp("git-pr"))
    target = listener(cluster, tmp_path_factory.mktemp("listener-pr"))
    payload = json.loads((SAMPLES / "pull-request-opened.json").read_text())
    head, base = git.head(BRANCH), git.head("main")
    payload["pull_request"]["head"].update(ref=BRANCH, sha=head)
    payload["pull_request"]["head"]["repo"]["clone_url"] = git.url
    payload["pull_request"]["base"]["sha"] = base
    payload["repository"]["clone_url"] = git.url
    known = set(pipelineruns(cluster))
    answer = send(target, payload=payload, event="pull_request")
    assert answer.startswith("202 "), answer
    run = new_run(cluster, known)
    try:
        assert run["spec"]["pipelineRef"]["name"] == "ci"
        assert run["metadata"]["labels"]["techcommerce.dev/commit"] == head[:7]
        params = {p["name"]: p["value"] for p in run["spec"]["params"]}
        assert (params["revision"], params["base-revision"]) == (head, base)
    finally:
        # the feature-branch test ran this very commit to the end already
        cluster.kubectl(
            "-n", CI, "delete", "pipelinerun", run["metadata"]["name"], "--wait=false", check=False
        )
