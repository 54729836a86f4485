"""The Tekton Dashboard (read-only, built here from ../shared/vendor: hack/e2e/build-dashboard.sh,
hack/e2e/dashboard.sh) lists the project's PipelineRuns of techcommerce-ci: its API answers with
them, and a real headless Chromium shows them on the run list filtered by the runs'
techcommerce.dev/* labels (the labels the TriggerTemplates set) and on one run's own page. The
screenshots are kept next to the e2e report. Where ../shared/vendor holds no Dashboard source (a
user's checkout), the Dashboard is not built and this test skips with that reason."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from cluster_e2e.kube import REPO, Cluster, eventually
from support.browser import chromium

CI = "techcommerce-ci"
TEKTON = "tekton-pipelines"
PART_OF = "app.kubernetes.io/part-of=techcommerce"
# The labels of tekton/triggers/templates.yaml the Dashboard filters by.
FILTER_LABELS = ("techcommerce.dev/repo", "techcommerce.dev/branch", "techcommerce.dev/commit")
TINY_RUN_LOG = "hello-from-the-dashboard-test"  # what the run made here logs
PAGE_SECONDS = 90  # a cold Chromium and the Dashboard's bundle on two busy cores


def versions() -> dict[str, str]:
    lines = (REPO / "hack/versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def artifacts() -> Path:
    """Where the screenshots go: the e2e logs directory (next to TECHCOMMERCE_E2E_REPORT)."""
    report = os.environ.get("TECHCOMMERCE_E2E_REPORT")
    folder = Path(report).parent if report else REPO / "test-artifacts" / "cluster_e2e"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def dashboard(cluster: Cluster) -> str:
    """The Dashboard's base URL (its Service's ClusterIP; the suite runs in the cluster's netns).
    Skips only when its source is absent: with the source, a missing Dashboard is a failure."""
    version = versions()["E2E_TEKTON_DASHBOARD_VERSION"]
    tarball = REPO.parent / "shared" / "vendor" / f"tekton-dashboard-{version}.tar.gz"
    if not tarball.is_file():
        pytest.skip(
            f"Dashboard skipped: ../shared/vendor/{tarball.name} absent (hack/e2e/dashboard.sh)"
        )
    cluster.rollout_status("deployment/tekton-dashboard", timeout=180, namespace=TEKTON)
    return f"http://{cluster.service_ip('tekton-dashboard', namespace=TEKTON)}:9097"


def tiny_run(cluster: Cluster) -> dict:
    """A one-step PipelineRun labelled as the TriggerTemplates label theirs."""
    shell = f"{cluster.registry}/techcommerce-e2e/tekton-shell:e2e"  # as in test_09
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": "e2e-dashboard-",
            "namespace": CI,
            "labels": {
                "app.kubernetes.io/part-of": "techcommerce",
                "techcommerce.dev/repo": "techcommerce",
                "techcommerce.dev/branch": "e2e-dashboard",
                "techcommerce.dev/commit": "0000000",
                "techcommerce.dev/services": "none",
            },
        },
        "spec": {
            "pipelineSpec": {
                "tasks": [
                    {
                        "name": "hello",
                        "taskSpec": {
                            "steps": [
                                {
                                    "name": "hello",
                                    "image": shell,
                                    "script": f"echo {TINY_RUN_LOG}",
                                    "securityContext": {
                                        "runAsNonRoot": True,
                                        "runAsUser": 65532,
                                        "allowPrivilegeEscalation": False,
                                        "capabilities": {"drop": ["ALL"]},
                                        "seccompProfile": {"type": "RuntimeDefault"},
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
        },
    }


def project_runs(cluster: Cluster) -> dict[str, dict]:
    items = cluster.get("pipelineruns", "-l", PART_OF, namespace=CI)["items"]
    return {run["metadata"]["name"]: run for run in items}


def succeeded(cluster: Cluster, name: str) -> bool:
    run = cluster.get("pipelinerun", name, namespace=CI)
    condition = next(
        (c for c in run.get("status", {}).get("conditions", []) if c["type"] == "Succeeded"), {}
    )
    assert condition.get("status") != "False", f"PipelineRun {name}: {condition.get('message')}"
    return condition.get("status") == "True"


@pytest.fixture(scope="module")
def runs_to_show(cluster: Cluster, dashboard: str) -> Iterator[tuple[dict[str, dict], str]]:
    """The project's PipelineRuns in techcommerce-ci ({name: run}) and the name of the one made
    here: when there are none yet, one tiny run is made (finished, so its log is there to show)
    and deleted after; else ""."""
    present = project_runs(cluster)
    if present:
        yield present, ""
        return
    proc = cluster.kubectl("create", "-o", "name", "-f", "-", input=json.dumps(tiny_run(cluster)))
    name = proc.stdout.strip().rsplit("/", 1)[-1]
    try:
        eventually(lambda: succeeded(cluster, name), 180, interval=2, what=f"PipelineRun {name}")
        yield project_runs(cluster), name
    finally:
        cluster.kubectl("-n", CI, "delete", "pipelinerun", name, "--wait=false", check=False)


def selector_of(run: dict) -> str:
    labels = run["metadata"]["labels"]
    return ",".join(f"{key}={labels[key]}" for key in FILTER_LABELS if key in labels)


def chosen(runs: dict[str, dict]) -> dict:
    """The run to filter by: the newest that carries every filter label."""
    labelled = [r for r in runs.values() if set(FILTER_LABELS) <= set(r["metadata"]["labels"])]
    assert labelled, f"no PipelineRun labelled {FILTER_LABELS}: {list(runs)}"
    return max(labelled, key=lambda r: r["metadata"]["creationTimestamp"])


def api_names(dashboard: str, selector: str) -> set[str]:
    """The names the Dashboard's API (its proxy to the Kubernetes API) lists for SELECTOR."""
    query = urllib.parse.urlencode({"labelSelector": selector})
    url = f"{dashboard}/apis/tekton.dev/v1/namespaces/{CI}/pipelineruns?{query}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
        return {item["metadata"]["name"] for item in json.load(answer)["items"]}


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = chromium(1440, 1000)
    try:
        yield driver
    finally:
        driver.quit()


def page_text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def show_and_snapshot(driver: WebDriver, url: str, expected: set[str], shot: str) -> str:
    """Open URL, wait until every name in EXPECTED is on the page, save the screenshot SHOT
    (also when a name never appears: it shows what the page did show); the page's text."""
    driver.get(url)
    try:
        WebDriverWait(driver, PAGE_SECONDS).until(
            lambda d: all(name in page_text(d) for name in expected)
        )
    finally:
        driver.save_screenshot(str(artifacts() / shot))
    return page_text(driver)


def test_the_dashboard_lists_the_project_runs_by_their_labels(
    cluster: Cluster,
    dashboard: str,
    runs_to_show: tuple[dict[str, dict], str],
    browser: WebDriver,
    report,
):
    runs, made_here = runs_to_show
    with urllib.request.urlopen(f"{dashboard}/v1/properties", timeout=30) as answer:
        properties = json.load(answer)
    pinned = versions()
    assert properties["isReadOnly"] is True, properties
    assert properties["dashboardVersion"] == pinned["E2E_TEKTON_DASHBOARD_VERSION"], properties
    # It found Pipelines and Triggers (their *-info ConfigMaps in tekton-pipelines).
    assert properties["pipelinesVersion"] and properties["triggersVersion"], properties
    # The API lists every project run, and the filter selects exactly the runs with those labels.
    assert set(runs) <= api_names(dashboard, PART_OF)
    run = chosen(runs)
    selector = selector_of(run)
    matching = {n for n, r in runs.items() if selector_of(r) == selector}
    assert api_names(dashboard, selector) == matching
    assert run["metadata"]["name"] in matching

    # The run list, filtered by the run's repo, branch and commit labels.
    base = f"{dashboard}/#/namespaces/{CI}/pipelineruns"
    text = show_and_snapshot(
        browser,
        f"{base}?{urllib.parse.urlencode({'labelSelector': selector})}",
        matching,
        "dashboard-pipelineruns-filtered.png",
    )
    others = set(runs) - matching
    assert not {name for name in others if name in text}, "the filter showed other runs"
    for label in selector.split(","):  # the Dashboard shows each filter as key:value
        assert label.replace("=", ":", 1) in text, f"the filter {label} is not shown"

    # A filter no run matches shows none of them: the page filters, it does not just list.
    text = show_and_snapshot(
        browser,
        f"{base}?{urllib.parse.urlencode({'labelSelector': 'techcommerce.dev/commit=none'})}",
        {f"No matching PipelineRuns found in namespace {CI}"},
        "dashboard-pipelineruns-no-match.png",
    )
    assert not {name for name in runs if name in text}

    # One run's own page: its name, its Pipeline's tasks and, for the run made here, its log
    # (read through the Dashboard's pods/log access).
    name = run["metadata"]["name"]
    expected = {name, TINY_RUN_LOG} if name == made_here else {name}
    text = show_and_snapshot(browser, f"{base}/{name}", expected, "dashboard-pipelinerun.png")
    tasks = {t["name"] for t in (run["spec"].get("pipelineSpec") or {}).get("tasks", [])}
    assert all(task in text for task in tasks), (tasks, text[:500])
    report(
        f"dashboard: {len(runs)} project PipelineRun(s) listed; filter {selector} shows "
        f"{len(matching)}; screenshots in {artifacts()}"
    )
