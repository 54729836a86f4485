"""Monitoring in the cluster (issue 12, item 7): monitoring/kubernetes as deployed by
hack/e2e/deploy.sh (Prometheus, Alertmanager, kube-state-metrics and node-exporter built here;
Grafana left out). Prometheus finds the three services through Kubernetes discovery and scrapes
them; the disk alerts' series exist for the real PostgreSQL volume; a crash-looping Pod fires
KubeContainerRestartingOften and Alertmanager delivers it, through its real route and receiver,
to the in-cluster stand-in for Slack (hack/e2e/addons/alert-receiver.yaml) that this test reads.

The crash-looping Pod starts when the module does; its test runs last, so the restarts (back-off
10 s, 20 s, 40 s, ...) accumulate while the other tests run."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from cluster_e2e.kube import NAMESPACE, SERVICES, Cluster, eventually

MONITORING = "monitoring"
# Unique per run: a notification about an earlier run's pod cannot pass for this one.
CRASHING_POD = f"e2e-crash-loop-{uuid.uuid4().hex[:8]}"


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def prometheus(cluster: Cluster) -> str:
    return f"http://{cluster.service_ip('prometheus', namespace=MONITORING)}:9090"


def query(cluster: Cluster, promql: str) -> list[dict]:
    url = f"{prometheus(cluster)}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = get_json(url)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


@pytest.fixture(scope="module")
def crash_loop(cluster: Cluster) -> Iterator[str]:
    """A Pod (admitted by the restricted profile) whose container exits 1 at once, forever."""
    image = cluster.image_digest("techcommerce/product-api")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": CRASHING_POD, "labels": {"app.kubernetes.io/name": CRASHING_POD}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "crash",
                    "image": image,
                    "command": ["python", "-c", "raise SystemExit(1)"],
                    "resources": {"limits": {"cpu": "50m", "memory": "64Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    cluster.kubectl("-n", NAMESPACE, "apply", "-f", "-", input=json.dumps(pod))
    yield CRASHING_POD
    cluster.kubectl("-n", NAMESPACE, "delete", "pod", CRASHING_POD, "--wait=false", check=False)


def test_prometheus_discovers_and_scrapes_every_service(cluster: Cluster, crash_loop: str):
    def scraped() -> dict[str, list[str]] | None:
        targets = get_json(f"{prometheus(cluster)}/api/v1/targets?state=active")["data"]
        healthy: dict[str, list[str]] = {}
        for target in targets["activeTargets"]:
            labels = target["labels"]
            if labels.get("job") == "techcommerce" and target["health"] == "up":
                healthy.setdefault(labels.get("service", ""), []).append(labels.get("pod", ""))
        return healthy if all(healthy.get(s) for s in SERVICES) else None

    healthy = eventually(scraped, 180, interval=5, what="a healthy target of every service")
    for service in SERVICES:
        serving = set(cluster.serving_pods(service).values())
        assert serving <= set(healthy[service]), (service, serving, healthy[service])
    # and the services' own series arrive: a request to each Service shows in its counter
    for service in SERVICES:
        port = cluster.get(f"service/{service}")["spec"]["ports"][0]["port"]
        url = f"http://{cluster.service_ip(service)}:{port}/"
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except urllib.error.HTTPError:
            pass  # any answer is counted
    series = eventually(
        lambda: (
            (found := query(cluster, 'http_requests_total{namespace="techcommerce-staging"}'))
            and {s["metric"]["service"] for s in found} == set(SERVICES)
            and found
        ),
        120,
        interval=5,
        what="http_requests_total of every staging service",
    )
    assert all("route" in s["metric"] for s in series), series[:3]


def test_every_rule_loads_and_the_disk_alert_series_exist(cluster: Cluster, crash_loop: str):
    groups = get_json(f"{prometheus(cluster)}/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert rules, "no rule loaded"
    assert [r["name"] for r in rules if r["health"] == "err"] == []
    # KubePersistentVolumeUsageHigh reads the kubelet's volume stats of the PostgreSQL claim,
    # NodeFilesystemUsageHigh node-exporter's filesystems: both have their series here.
    pvc = 'persistentvolumeclaim="data-postgres-0",namespace="techcommerce-staging"'
    for promql in (
        f"kubelet_volume_stats_capacity_bytes{{{pvc}}}",
        f"kubelet_volume_stats_available_bytes{{{pvc}}}",
        'node_filesystem_avail_bytes{fstype!~"|tmpfs|ramfs|squashfs|overlay|nsfs|fuse.lxcfs"}',
    ):
        result = eventually(lambda q=promql: query(cluster, q), 180, interval=5, what=promql)
        assert all(float(s["value"][1]) > 0 for s in result), result
    # and the alert's expression over them is the volume's real usage: the PersistentVolume is a
    # `local` directory under the run directory (local-path-provisioner, hack/e2e/cluster-up.sh),
    # so its filesystem is the run directory's (1 - avail / size).
    usage = query(
        cluster,
        f"1 - kubelet_volume_stats_available_bytes{{{pvc}}}"
        f" / kubelet_volume_stats_capacity_bytes{{{pvc}}}",
    )
    stat = os.statvfs(cluster.run_dir)
    expected = 1 - stat.f_bavail / stat.f_blocks
    assert usage and abs(float(usage[0]["value"][1]) - expected) < 0.02, (usage, expected)


def test_a_crash_looping_pod_fires_the_restart_alert_and_alertmanager_delivers_it(
    cluster: Cluster, crash_loop: str
):
    receiver = f"http://{cluster.service_ip('alert-receiver', namespace=MONITORING)}:8080"

    def delivered() -> list[dict]:
        notifications = get_json(f"{receiver}/notifications")
        return [
            n
            for n in notifications
            if n["path"] == "/slack"
            and crash_loop in n["body"]
            and "FIRING" in n["body"]
            and "#techcommerce-staging" in n["body"]
        ]

    notifications = eventually(
        delivered, 480, interval=10, what=f"the restart alert of {crash_loop} at the receiver"
    )
    body = json.loads(notifications[0]["body"])
    assert "restarted more than 3 times" in json.dumps(body)
    firing = query(
        cluster, f'ALERTS{{alertname="KubeContainerRestartingOften",pod="{crash_loop}"}}'
    )
    assert firing and firing[0]["metric"]["alertstate"] == "firing", firing
