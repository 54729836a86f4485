"""Grafana dashboards and provisioning: well-formed, complete, and every query (dashboards and
rules) accepted by a real Prometheus. Whether they return data is test_live_queries.py's job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    DASHBOARDS_DIR,
    MONITORING,
    all_rules,
    dashboards,
    grafana_expr,
    panel_queries,
    promql_names,
    running_prometheus,
    variable_queries,
)

DATASOURCE_UID = "prometheus"
GRAFANA_VARIABLES = {
    "namespace": "techcommerce-production",
    "service": ".*",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}


def test_dashboards_are_valid_json_with_unique_uids():
    boards = dashboards()
    assert len(boards) == len(list(DASHBOARDS_DIR.glob("*.json"))) == 4
    uids = [board["uid"] for board in boards]
    assert len(set(uids)) == len(uids)
    for path in DASHBOARDS_DIR.glob("*.json"):
        json.loads(path.read_text())


@pytest.mark.parametrize("board", dashboards(), ids=lambda board: board["uid"])
def test_dashboard_panels_are_well_formed(board):
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel.get("description"), f"{panel['title']}: say what the panel shows"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            assert target["expr"].strip()
    for var in board["templating"]["list"]:
        assert var["datasource"]["uid"] == DATASOURCE_UID


def _exprs(uid: str) -> str:
    return "\n".join(expr for board_uid, _t, _r, expr, _l in panel_queries() if board_uid == uid)


def test_service_overview_has_what_the_issue_lists():
    exprs = _exprs("techcommerce-services")
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (service, le)" in exprs
        assert f"histogram_quantile({quantile}, sum by (service, method, route, le)" in exprs
    assert "http_requests_5xx:ratio_rate5m" in exprs
    assert "http_requests_in_flight" in exprs
    assert "kube_horizontalpodautoscaler_spec_max_replicas" in exprs
    assert "kube_deployment_status_replicas_available" in exprs


def test_db_pool_business_and_alerts_dashboards_have_their_metrics():
    pool = _exprs("techcommerce-db-pool")
    for metric in ("db_pool_size", "db_pool_free", "db_pool_max"):
        assert metric in pool
    business = _exprs("techcommerce-business")
    assert "sum by (reason) (rate(orders_rejected_total" in business
    for metric in ("orders_created_total", "stock_conflicts_total", "orders_value_total"):
        assert metric in business
    assert 'ALERTS{alertstate="firing"}' in _exprs("techcommerce-alerts")


def test_provisioning_points_at_the_dashboards_and_the_datasource_uid():
    datasources = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    (source,) = datasources["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus.monitoring.svc:9090"
    providers = yaml.safe_load(
        (MONITORING / "grafana/provisioning/dashboards/techcommerce.yaml").read_text()
    )
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"  # see grafana.yaml mounts


@pytest.fixture(scope="module")
def empty_prometheus(tmp_path_factory):
    """A real Prometheus with no data: it parses and type-checks queries."""
    workdir = tmp_path_factory.mktemp("empty-prometheus")
    config = workdir / "prometheus.yml"
    config.write_text("global: {}\n")
    with running_prometheus(config, workdir) as prometheus:
        yield prometheus


def _all_queries() -> list[tuple[str, str]]:
    queries = [
        (f"{uid} / {title} / {ref}", grafana_expr(expr, GRAFANA_VARIABLES))
        for uid, title, ref, expr, _legend in panel_queries()
    ]
    queries += [(rule.get("alert") or rule["record"], rule["expr"]) for rule in all_rules()]
    return queries


def test_every_dashboard_and_rule_query_parses(empty_prometheus):
    failures = []
    for name, expr in _all_queries():
        answer = empty_prometheus.query(expr)
        if answer["status"] != "success":
            failures.append(f"{name}: {answer.get('error')}\n  {expr}")
    assert not failures, "\n".join(failures)
    assert len(_all_queries()) > 50


def test_the_parse_check_can_fail(empty_prometheus):
    answer = empty_prometheus.query("sum by (service (rate(http_requests_total[5m]))")
    assert answer["status"] == "error"


def test_variable_queries_are_label_values_of_a_selector():
    for uid, name, query in variable_queries():
        assert query.startswith("label_values(") and query.endswith(")"), (uid, name)
        metrics, _labels = promql_names(query.removeprefix("label_values(").rsplit(",", 1)[0])
        assert len(metrics) == 1, (uid, name, query)


def test_dashboard_files_are_formatted_as_committed():
    """Stable diffs: two-space indented JSON with a trailing newline."""
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=2) + "\n", path.name


def test_grafana_kustomization_ships_every_dashboard():
    kustomization = yaml.safe_load((MONITORING / "grafana/kustomization.yaml").read_text())
    (generator,) = [
        g for g in kustomization["configMapGenerator"] if g["name"] == "grafana-dashboards"
    ]
    shipped = {Path(f).name for f in generator["files"]}
    assert shipped == {path.name for path in DASHBOARDS_DIR.glob("*.json")}
