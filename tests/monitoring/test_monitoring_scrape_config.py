"""The Prometheus scrape configs, checked by promtool and by a real Prometheus.

Debian's Prometheus is built without Kubernetes discovery, so the cluster config is run with each
`kubernetes_sd_configs` block swapped for a `file_sd_configs` that serves what Kubernetes
discovery would have found (the same `__meta_kubernetes_*` labels). Everything else, relabelling
included, is the real config; the relabelled targets and scraped series are read back from the
real Prometheus.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    PROMETHEUS_DIR,
    run,
    running_prometheus,
    wait_until,
)

CLUSTER_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus-local.yml"
SD_ROLES = {"node", "pod", "service", "endpoints", "endpointslice", "ingress"}
SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata"}
CLOSED_PROXY = "http://127.0.0.1:9"  # discard port: nothing answers, nothing leaves the machine


def test_promtool_check_config_local():
    result = run(["promtool", "check", "config", str(LOCAL_CONFIG)])
    assert result.returncode == 0, result.stdout
    assert "3 rule files found" in result.stdout


def test_kubernetes_sd_blocks_are_well_formed():
    config = yaml.safe_load(CLUSTER_CONFIG.read_text())
    blocks = [
        (job["job_name"], sd)
        for job in config["scrape_configs"]
        for sd in job.get("kubernetes_sd_configs", [])
    ]
    assert {job for job, _ in blocks} == {"techcommerce", "node-exporter", "kubelet", "cadvisor"}
    for job, sd in blocks:
        assert set(sd) <= SD_KEYS, (job, sd)
        assert sd["role"] in SD_ROLES, (job, sd)
        assert set(sd.get("namespaces", {})) <= {"names", "own_namespace"}, (job, sd)


class FakeExporter:
    """Serves a fixed /metrics page on loopback, like a pod or node-exporter would."""

    def __init__(self, page: str) -> None:
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pod(name, app, port, *, phase="Running", annotated=True, container_port=None):
    labels = {
        "__address__": f"127.0.0.1:{container_port or port}",
        "__meta_kubernetes_namespace": "techcommerce-production",
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_ip": "127.0.0.1",
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": app,
    }
    if annotated:
        labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] = "true"
        labels["__meta_kubernetes_pod_annotation_prometheus_io_port"] = str(port)
        labels["__meta_kubernetes_pod_annotation_prometheus_io_path"] = "/metrics"
    return {"targets": [labels.pop("__address__")], "labels": labels}


def discovered(app_port: int, node_port: int) -> dict[str, list[dict]]:
    """What Kubernetes discovery would report, per job."""
    node_a = {"targets": ["10.0.0.11:10250"], "labels": {"__meta_kubernetes_node_name": "node-a"}}
    return {
        "techcommerce": [
            pod("order-api-6b7c9-aaaaa", "order-api", app_port),
            # The same pod seen through a second container port: must not scrape it twice.
            pod("order-api-6b7c9-aaaaa", "order-api", app_port, container_port=9999),
            pod("postgres-0", "postgres", 5432, annotated=False),
            pod("migrate-x7k2p", "migrate", app_port, phase="Succeeded"),
        ],
        "node-exporter": [
            {
                "targets": [f"127.0.0.1:{node_port}"],
                "labels": {
                    "__meta_kubernetes_service_name": "node-exporter",
                    "__meta_kubernetes_endpoint_port_name": "metrics",
                    "__meta_kubernetes_endpoint_node_name": "node-a",
                },
            },
            {
                "targets": ["127.0.0.1:1"],
                "labels": {
                    "__meta_kubernetes_service_name": "something-else",
                    "__meta_kubernetes_endpoint_port_name": "metrics",
                    "__meta_kubernetes_endpoint_node_name": "node-a",
                },
            },
        ],
        "kubelet": [node_a],
        "cadvisor": [node_a],
    }


def offline_cluster_config(tmp_path: Path, app_port: int, node_port: int) -> Path:
    config = yaml.safe_load(CLUSTER_CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["scrape_timeout"] = "1s"
    config["rule_files"] = []
    config.pop("alerting")
    groups = discovered(app_port, node_port)
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if "kubernetes_sd_configs" in job:
            sd_file = tmp_path / f"{name}.json"
            sd_file.write_text(json.dumps(groups[name]))
            del job["kubernetes_sd_configs"]
            job["file_sd_configs"] = [{"files": [str(sd_file)]}]
        if "tls_config" in job:  # no cluster CA or service account token on this machine
            token = tmp_path / "token"
            token.write_text("offline-test-token")
            job["tls_config"] = {"insecure_skip_verify": True}
            job["authorization"] = {"credentials_file": str(token)}
        if name != "techcommerce" and name != "node-exporter":
            job["proxy_url"] = CLOSED_PROXY  # cluster DNS names: never resolved from here
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def cluster_prometheus(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cluster-prometheus")
    app = FakeExporter(
        "# TYPE http_requests_total counter\n"
        'http_requests_total{service="order-api",method="POST",route="/orders",status="201"} 7\n'
    )
    node = FakeExporter(
        "# TYPE node_filesystem_avail_bytes gauge\n"
        'node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1e9\n'
    )
    config = offline_cluster_config(tmp_path, app.port, node.port)
    checked = run(["promtool", "check", "config", str(config)])
    assert checked.returncode == 0, checked.stdout
    try:
        with running_prometheus(config, tmp_path) as prometheus:
            yield prometheus, app.port
    finally:
        app.close()
        node.close()


def active(prometheus, job):
    return [t for t in prometheus.targets()["activeTargets"] if t["labels"]["job"] == job]


def test_pods_opt_in_by_annotation_and_get_namespace_pod_service(cluster_prometheus):
    prometheus, port = cluster_prometheus
    targets = wait_until(lambda: active(prometheus, "techcommerce"), 20, what="techcommerce")
    assert len(targets) == 1, targets  # one pod, scraped once; postgres and the Job pod left out
    (target,) = targets
    assert target["labels"] == {
        "instance": f"127.0.0.1:{port}",
        "job": "techcommerce",
        "namespace": "techcommerce-production",
        "pod": "order-api-6b7c9-aaaaa",
        "service": "order-api",
    }
    assert target["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics"
    dropped = [t["discoveredLabels"] for t in prometheus.targets()["droppedTargets"]]
    dropped_pods = {d.get("__meta_kubernetes_pod_name") for d in dropped}
    assert {"postgres-0", "migrate-x7k2p"} <= dropped_pods


def test_the_apps_service_label_survives_the_scrape(cluster_prometheus):
    prometheus, port = cluster_prometheus

    def series():
        return prometheus.query("http_requests_total")["data"]["result"]

    (sample,) = wait_until(series, 20, what="scraped series")
    assert sample["metric"] == {
        "__name__": "http_requests_total",
        "instance": f"127.0.0.1:{port}",
        "job": "techcommerce",
        "namespace": "techcommerce-production",
        "pod": "order-api-6b7c9-aaaaa",
        "service": "order-api",  # the app's own label; no exported_service
        "method": "POST",
        "route": "/orders",
        "status": "201",
    }
    up = prometheus.query('up{job="techcommerce"}')["data"]["result"]
    assert up[0]["metric"]["service"] == "order-api"
    assert up[0]["value"][1] == "1"


def test_node_exporter_endpoints_are_labelled_by_node(cluster_prometheus):
    prometheus, _ = cluster_prometheus
    (target,) = wait_until(lambda: active(prometheus, "node-exporter"), 20, what="node-exporter")
    assert target["labels"]["node"] == "node-a"
    assert target["labels"]["instance"] == "node-a"
    result = wait_until(
        lambda: prometheus.query("node_filesystem_avail_bytes")["data"]["result"], 20, what="fs"
    )
    assert result[0]["metric"]["node"] == "node-a"


@pytest.mark.parametrize(
    ("job", "path"), [("kubelet", "metrics"), ("cadvisor", "metrics/cadvisor")]
)
def test_kubelet_is_reached_through_the_api_server_proxy(cluster_prometheus, job, path):
    prometheus, _ = cluster_prometheus
    (target,) = wait_until(lambda: active(prometheus, job), 20, what=job)
    assert target["labels"] == {"instance": "node-a", "job": job, "node": "node-a"}
    assert target["scrapeUrl"] == (
        f"https://kubernetes.default.svc:443/api/v1/nodes/node-a/proxy/{path}"
    )
