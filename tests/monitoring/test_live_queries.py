"""Live proof of the dashboards and rules: the whole local stack (`hack/dev/run.py`: PostgreSQL,
migrations, seed, every service), a real Prometheus scraping it every second with the rules
loaded, real traffic (successes and 4xx), then every dashboard query, every variable query and
every rule expression run against Prometheus's HTTP API.

Each query must parse; each panel query must return data; every metric and label a query names
must exist in what the services expose (or what the recording rules derive from it). Panels fed
by exporters that only run in a cluster, and panels that only show data while an alert fires,
are listed below with the reason: they are still parsed, and their metric names must be known.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    PROMETHEUS_DIR,
    ROOT,
    RULES_DIR,
    all_rules,
    free_port,
    grafana_expr,
    panel_queries,
    promql_names,
    recording_rules,
    running_prometheus,
    variable_queries,
    wait_until,
)

from processes import stop_process
from support.orders import order_body

NAMESPACE = "local"  # prometheus-local.yml labels every local target with it
VARIABLES = {
    "namespace": NAMESPACE,
    "service": ".*",
    "__rate_interval": "1m",
    "__interval": "1s",
    "__range": "5m",
}

# Panels whose data comes from exporters that run only in a cluster.
CLUSTER_ONLY_PANELS = {
    ("techcommerce-services", "Pods vs HPA"): "kube-state-metrics (Deployments, HPAs)",
    ("techcommerce-services", "Container restarts (1h)"): "kube-state-metrics",
    ("techcommerce-services", "CPU per pod"): "the kubelet's cAdvisor",
    ("techcommerce-services", "Memory per pod"): "the kubelet's cAdvisor",
    ("techcommerce-db-pool", "PostgreSQL volume usage"): "the kubelet's volume stats",
    ("techcommerce-alerts", "Notifications"): "Alertmanager, not part of the local run",
}
# Panels that are empty exactly when all is well.
WHILE_FIRING_PANELS = {
    ("techcommerce-alerts", "Firing alerts"): "ALERTS has series only while an alert fires",
    ("techcommerce-alerts", "Firing by severity"): "ALERTS has series only while an alert fires",
    ("techcommerce-alerts", "Pending alerts"): "ALERTS has series only while an alert is pending",
}
# Metric names of the cluster-only exporters (kube-state-metrics v2, kubelet, cAdvisor,
# node-exporter, Alertmanager) and Prometheus's own ALERTS, as their documentation names them.
CLUSTER_METRICS = {
    "ALERTS",
    "kube_deployment_status_replicas_available",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_pod_container_status_restarts_total",
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_capacity_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_readonly",
    "alertmanager_notifications_total",
    "alertmanager_notifications_failed_total",
}
# Recording rules that rightly record nothing for traffic without server errors.
EMPTY_WITHOUT_5XX = {
    "namespace_service:http_requests_5xx:rate5m": (
        "has series only once a service answered 5xx; the ratio built on it fills in 0"
    ),
}
READY_TIMEOUT_SECONDS = 120
# The shop's credential for order-api, handed to `make run` so the traffic below can use it.
ORDER_API_TOKEN = "live-queries-order-api-token-0123456789"
SHOP = {"Authorization": f"Bearer {ORDER_API_TOKEN}"}


class LocalStack:
    """hack/dev/run.py in a subprocess; its output (and the services' logs) drained by a thread."""

    def __init__(self) -> None:
        self.ports = {
            "PRODUCT_API_PORT": free_port(),
            "ORDER_API_PORT": free_port(),
            "FRONTEND_PORT": free_port(),
        }
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # own throwaway DB
        env.update({k: str(v) for k, v in self.ports.items()})
        env["ORDER_API_TOKEN"] = ORDER_API_TOKEN
        python = ROOT / ".venv" / "bin" / "python"
        self.process = subprocess.Popen(
            [str(python if python.exists() else sys.executable), "hack/dev/run.py"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.ready = threading.Event()
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if line.strip() == "ready":
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"hack/dev/run.py did not print `ready` (exit {self.process.poll()}):\n"
                    + "".join(self.output[-60:])
                )

    def stop(self) -> int:
        stop_process(self.process, timeout=60, sig=signal.SIGINT)
        self.drain.join(timeout=10)
        self.process.stdout.close()
        return self.process.returncode

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_variable]}"


def local_prometheus_config(stack: LocalStack, prometheus_port: int, workdir: Path) -> Path:
    """monitoring/prometheus/prometheus-local.yml with the test's ports and a 1 s cadence."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus-local.yml").read_text())
    port_of = {
        "127.0.0.1:9090": prometheus_port,
        "127.0.0.1:5000": stack.ports["PRODUCT_API_PORT"],
        "127.0.0.1:5001": stack.ports["ORDER_API_PORT"],
        "127.0.0.1:3000": stack.ports["FRONTEND_PORT"],
    }
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            group["targets"] = [f"127.0.0.1:{port_of[t]}" for t in group["targets"]]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def request(method: str, url: str, body: object = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if data else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def place_order(order_api: str, product_id: int, quantity: int):
    headers = {**SHOP, "Idempotency-Key": str(uuid.uuid4())}
    return request("POST", f"{order_api}/orders", order_body((product_id, quantity)), headers)


def drive_traffic(stack: LocalStack) -> dict[str, set[int]]:
    """A few rounds of real requests: successes and client errors on every service."""
    products = stack.url("PRODUCT_API_PORT")
    orders = stack.url("ORDER_API_PORT")
    frontend = stack.url("FRONTEND_PORT")
    status, body = request("GET", f"{products}/products?limit=50&in_stock=true")
    assert status == 200, body
    catalog = json.loads(body)["items"]
    assert catalog, "the seeded catalog has no product in stock"
    cheap = min(catalog, key=lambda p: p["stock"])
    seen: dict[str, set[int]] = {"product-api": set(), "order-api": set(), "frontend": set()}
    for _round in range(3):
        for url in (
            f"{products}/products?limit=5",
            f"{products}/products/{catalog[0]['id']}",
            f"{products}/categories",
            f"{products}/products/999999999",  # 404
            f"{products}/products?limit=0",  # 422
        ):
            seen["product-api"].add(request("GET", url)[0])
        seen["order-api"].add(place_order(orders, catalog[0]["id"], 1)[0])
        seen["order-api"].add(place_order(orders, 999999999, 1)[0])  # unknown product
        seen["order-api"].add(place_order(orders, cheap["id"], 100)[0])  # short of stock
        invalid = request("POST", f"{orders}/orders", {}, {**SHOP, "Idempotency-Key": "x"})
        seen["order-api"].add(invalid[0])  # 422
        seen["order-api"].add(request("GET", f"{orders}/orders/{uuid.uuid4()}", None, SHOP)[0])
        for url in (f"{frontend}/", f"{frontend}/products/{catalog[0]['id']}", f"{frontend}/nope"):
            seen["frontend"].add(request("GET", url)[0])
        time.sleep(1.2)  # let scrapes see the counters move between rounds
    return seen


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("live-prometheus")
    stack = LocalStack()
    try:
        stack.wait_ready()
        prometheus_port = free_port()
        config = local_prometheus_config(stack, prometheus_port, workdir)
        with running_prometheus(config, workdir, prometheus_port) as prometheus:

            def all_up():
                result = prometheus.query("up")["data"]["result"]
                return len(result) == 4 and all(r["value"][1] == "1" for r in result)

            wait_until(all_up, 30, what="every local target up")
            statuses = drive_traffic(stack)

            def rules_saw_traffic():
                query = 'namespace_service:order_placement_errors:ratio_rate5m{namespace="local"}'
                return prometheus.query(query)["data"]["result"]

            wait_until(rules_saw_traffic, 30, what="recording rules over the traffic")
            time.sleep(2)  # two more scrapes and rule evaluations after the last request
            names = set(prometheus.api("label/__name__/values")["data"])
            yield prometheus, statuses, names
    finally:
        exit_code = stack.stop()
        assert exit_code == 0, "".join(stack.output[-40:])


def listed(uid: str, title: str) -> str | None:
    return CLUSTER_ONLY_PANELS.get((uid, title)) or WHILE_FIRING_PANELS.get((uid, title))


def test_the_lists_of_exempt_panels_name_real_panels():
    panels = {(uid, title) for uid, title, _r, _e, _l in panel_queries()}
    assert set(CLUSTER_ONLY_PANELS) <= panels
    assert set(WHILE_FIRING_PANELS) <= panels


def test_traffic_had_successes_and_client_errors(live):
    prometheus, statuses, _names = live
    for service, seen in statuses.items():
        assert any(200 <= s < 300 for s in seen), (service, seen)
        assert any(400 <= s < 500 for s in seen), (service, seen)
    assert not any(s >= 500 for seen in statuses.values() for s in seen), statuses
    query = 'sum by (service, status) (http_requests_total{namespace="local"})'
    served = {
        (r["metric"]["service"], r["metric"]["status"][0])
        for r in prometheus.query(query)["data"]["result"]
    }
    for service in statuses:
        assert {(service, "2"), (service, "4")} <= served, served
    rejected = prometheus.query('orders_rejected_total{reason="unknown_product"} > 0')
    assert rejected["data"]["result"], "order-api's rejections did not reach Prometheus"


def test_every_rule_evaluates_without_error(live):
    prometheus, _statuses, _names = live
    groups = prometheus.api("rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == len(all_rules())
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not broken, broken


def _check_names(prometheus, expr: str, names: set[str]) -> list[str]:
    """Problems with the metric and label names an expression uses. `names`: the metric names
    Prometheus holds (what the services expose, plus what the rules recorded from it)."""
    metrics, labels = promql_names(expr)
    recorded = {rule["record"] for rule in recording_rules()}
    problems = [
        f"metric {m} is exposed by nothing here" for m in sorted(metrics - names - recorded)
    ]
    present = sorted(metrics & names)
    if present:
        match = '{__name__=~"' + "|".join(re.escape(m) for m in present) + '"}'
        existing = set(prometheus.api("labels", **{"match[]": match})["data"])
        problems += [
            f"label {label} is on none of {present}" for label in sorted(labels - existing)
        ]
    return problems


def test_every_panel_query_parses_returns_data_and_names_only_exposed_metrics(live):
    prometheus, _statuses, names = live
    failures = []
    checked = 0
    for uid, title, ref, raw, legend in panel_queries():
        expr = grafana_expr(raw, VARIABLES)
        where = f"{uid} / {title} / {ref}: {expr}"
        answer = prometheus.query(expr)
        if answer["status"] != "success":
            failures.append(f"{where}\n    does not parse: {answer.get('error')}")
            continue
        if listed(uid, title):
            unknown = promql_names(expr)[0] - names - CLUSTER_METRICS
            failures += [f"{where}\n    unknown metric {m}" for m in sorted(unknown)]
            continue
        checked += 1
        failures += [f"{where}\n    {p}" for p in _check_names(prometheus, expr, names)]
        result = answer["data"]["result"]
        if not result:
            failures.append(f"{where}\n    returned no data")
        for placeholder in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
            if result and not all(placeholder in series["metric"] for series in result):
                failures.append(f"{where}\n    legend uses {placeholder}, not in the result")
    assert not failures, "\n".join(failures)
    assert checked >= 25


def test_every_dashboard_variable_finds_values(live):
    prometheus, _statuses, _names = live
    for uid, name, query in variable_queries():
        selector, label = query.removeprefix("label_values(").removesuffix(")").rsplit(",", 1)
        selector = grafana_expr(selector, VARIABLES)
        series = prometheus.api("series", **{"match[]": selector})["data"]
        values = {s.get(label.strip()) for s in series} - {None}
        assert values, (uid, name, query)
        if name == "namespace":
            assert NAMESPACE in values


def test_every_rule_expression_parses_and_names_only_exposed_metrics(live):
    prometheus, _statuses, names = live
    failures = []
    for rule in all_rules():
        name = rule.get("alert") or rule["record"]
        answer = prometheus.query(rule["expr"])
        if answer["status"] != "success":
            failures.append(f"{name}: does not parse: {answer.get('error')}")
            continue
        metrics = promql_names(rule["expr"])[0]
        if metrics & CLUSTER_METRICS:  # restarts, disks: their inputs exist only in a cluster
            unknown = metrics - names - CLUSTER_METRICS
            failures += [f"{name}: unknown metric {m}" for m in sorted(unknown)]
            continue
        failures += [f"{name}: {p}" for p in _check_names(prometheus, rule["expr"], names)]
    assert not failures, "\n".join(failures)


def test_every_recording_rule_records_data_from_the_services(live):
    prometheus, _statuses, _names = live
    empty = []
    for rule in recording_rules():
        result = prometheus.query(f'{rule["record"]}{{namespace="{NAMESPACE}"}}')["data"]["result"]
        services = {series["metric"].get("service") for series in result}
        if not services and rule["record"] not in EMPTY_WITHOUT_5XX:
            empty.append(rule["record"])
        if rule["record"].startswith("namespace_service:order_placement"):
            assert services == {"order-api"}, (rule["record"], services)
    assert not empty, empty


def test_the_name_check_can_fail(live):
    prometheus, _statuses, names = live
    problems = _check_names(prometheus, "sum by (service) (rate(http_request_total[1m]))", names)
    assert problems == ["metric http_request_total is exposed by nothing here"]
    problems = _check_names(prometheus, "sum by (servce) (rate(http_requests_total[1m]))", names)
    assert problems == ["label servce is on none of ['http_requests_total']"]
