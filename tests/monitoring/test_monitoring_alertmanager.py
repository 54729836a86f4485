"""Alertmanager: amtool accepts the config, routes every alert where the README says, and a real
Alertmanager delivers and inhibits as configured (receivers pointed at a local webhook)."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    ALERTMANAGER_CONFIG,
    alert_rules,
    free_port,
    http_get_json,
    run,
    running_server,
    wait_until,
)

PROD = "namespace=techcommerce-production"
STAGING = "namespace=techcommerce-staging"


def test_amtool_check_config():
    result = run(["amtool", "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout
    assert "SUCCESS" in result.stdout


def routes_test(expected: str, *labels: str) -> subprocess.CompletedProcess:
    return run(
        [
            "amtool",
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--verify.receivers={expected}",
            *labels,
        ]
    )


ROUTES = [
    ("production page", "oncall-pager,team-slack", ["severity=critical", PROD]),
    ("production warning", "team-slack", ["severity=warning", PROD]),
    ("staging never pages", "staging-slack", ["severity=critical", STAGING]),
    ("staging warning", "staging-slack", ["severity=warning", STAGING]),
    ("node alert without namespace", "team-slack", ["severity=warning", "node=node-a"]),
    ("info goes nowhere", "blackhole", ["severity=info", PROD]),
    ("no severity falls back to the team", "team-slack", ["alertname=Unknown"]),
]


@pytest.mark.parametrize(("case", "expected", "labels"), ROUTES, ids=[r[0] for r in ROUTES])
def test_amtool_routes(case, expected, labels):
    result = routes_test(expected, f"alertname={case.replace(' ', '_')}", *labels)
    assert result.returncode == 0, result.stdout


def test_amtool_routes_test_fails_on_a_wrong_receiver():
    """The check above can fail: a production page is not only a Slack message."""
    result = routes_test("team-slack", "severity=critical", PROD)
    assert result.returncode != 0, result.stdout


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_of_production_reaches_a_person(rule):
    severity = rule["labels"]["severity"]
    expected = {"critical": "oncall-pager,team-slack", "warning": "team-slack"}[severity]
    result = routes_test(expected, f"alertname={rule['alert']}", f"severity={severity}", PROD)
    assert result.returncode == 0, result.stdout


class Webhook:
    """A local HTTP receiver that records the notifications Alertmanager sends, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path.strip("/"), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alertnames(self, receiver: str) -> set[str]:
        return {
            alert["labels"]["alertname"]
            for path, payload in self.received
            if path == receiver
            for alert in payload["alerts"]
        }


def local_config(webhook: Webhook) -> dict:
    """The real routing tree and inhibit rules; every receiver becomes a local webhook (no
    notification may leave the machine) and the waits shrink from minutes to a second."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        name = receiver["name"]
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": f"{webhook.url}/{name}"}]

    def shorten(route: dict) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            shorten(child)

    config["route"]["group_wait"] = "1s"
    config["route"]["group_interval"] = "1s"
    shorten(config["route"])
    return config


def post_alerts(base_url: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_real_alertmanager_delivers_pages_and_inhibits_the_slow_burn(tmp_path: Path):
    webhook = Webhook()
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(local_config(webhook)))
    port = free_port()
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config_file}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    try:
        with running_server(argv, port, tmp_path / "alertmanager.log") as base_url:
            slo = {"slo": "order-placement", "service": "order-api"}
            post_alerts(
                base_url,
                [
                    {
                        "labels": {
                            "alertname": "TechCommerceOrderPlacementBudgetFastBurn",
                            "severity": "critical",
                            "namespace": "techcommerce-production",
                            **slo,
                        }
                    },
                    {
                        "labels": {
                            "alertname": "TechCommerceOrderPlacementBudgetSlowBurn",
                            "severity": "warning",
                            "namespace": "techcommerce-production",
                            **slo,
                        }
                    },
                    {
                        "labels": {
                            "alertname": "TechCommerceServiceErrorRatioHigh",
                            "severity": "critical",
                            "namespace": "techcommerce-staging",
                            "service": "frontend",
                        }
                    },
                ],
            )
            fast = "TechCommerceOrderPlacementBudgetFastBurn"
            wait_until(
                lambda: (
                    fast in webhook.alertnames("oncall-pager")
                    and fast in webhook.alertnames("team-slack")
                    and webhook.alertnames("staging-slack")
                ),
                timeout=20,
                what="notifications",
            )
            alerts = http_get_json(f"{base_url}/api/v2/alerts")
            states = {a["labels"]["alertname"]: a["status"] for a in alerts}
            slow = states["TechCommerceOrderPlacementBudgetSlowBurn"]
            assert slow["state"] == "suppressed"
            assert slow["inhibitedBy"], slow
            assert states[fast]["state"] == "active"
            assert webhook.alertnames("oncall-pager") == {fast}
            assert webhook.alertnames("team-slack") == {fast}
            assert webhook.alertnames("staging-slack") == {"TechCommerceServiceErrorRatioHigh"}
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()
