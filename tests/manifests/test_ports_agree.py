"""Each service's port is written once per layer, and every layer agrees: the service's own
default (services/*/settings.py DEFAULT_PORT), the rendered manifests (container port, Service,
scrape annotation, PORT setting, the frontend's API URLs, NetworkPolicy rules), `make run`
(hack/dev/run.py), the local Prometheus config and the image's HEALTHCHECK (which reads the
default)."""

from __future__ import annotations

import importlib
import re
from urllib.parse import urlsplit

import yaml
from tests.manifests.manifest_lib import REPO, SERVICES, Rendered


def config_map_data(rendered: Rendered, app: str) -> dict[str, str]:
    maps = [o for o in rendered.of_kind("ConfigMap") if o["metadata"]["name"].startswith(f"{app}-")]
    assert maps, f"{rendered.name}: no ConfigMap for {app}"
    return {k: v for o in maps for k, v in o.get("data", {}).items()}


def test_manifests_use_each_service_default_port(rendered: Rendered) -> None:
    for app, (_package, port) in SERVICES.items():
        deployment = rendered.get("Deployment", app)
        template = deployment["spec"]["template"]
        (container,) = [c for c in template["spec"]["containers"] if c["name"] == app]
        assert [p["containerPort"] for p in container["ports"]] == [port], app
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port), app
        # The Service leads to that port (the frontend's public Service listens on 80).
        names = {p.get("name"): p["containerPort"] for p in container["ports"]}
        (service_port,) = rendered.get("Service", app)["spec"]["ports"]
        target = service_port.get("targetPort", service_port["port"])
        assert names.get(target, target) == port, app
        assert config_map_data(rendered, app)["PORT"] == str(port), app
    frontend = config_map_data(rendered, "frontend")
    for variable, app in (("PRODUCT_API_URL", "product-api"), ("ORDER_API_URL", "order-api")):
        url = urlsplit(frontend[variable])
        assert (url.hostname, url.port) == (app, SERVICES[app][1]), variable


def test_network_policies_open_exactly_the_service_ports(rendered: Rendered) -> None:
    ports = {port for _package, port in SERVICES.values()}
    for policy in rendered.of_kind("NetworkPolicy"):
        app = (
            policy["spec"]
            .get("podSelector", {})
            .get("matchLabels", {})
            .get("app.kubernetes.io/name")
        )
        for rule in policy["spec"].get("ingress", []):
            for entry in rule.get("ports", []):
                if app in SERVICES:
                    assert entry["port"] == SERVICES[app][1], (policy["metadata"]["name"], entry)
        for rule in policy["spec"].get("egress", []):
            for to in rule.get("to", []):
                target = (
                    to.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                )
                if target in SERVICES:
                    assert [e["port"] for e in rule.get("ports", [])] == [SERVICES[target][1]]
    assert ports == {5000, 5001, 3000}  # the documented contract (README, service READMEs)


def test_make_run_and_local_prometheus_use_the_same_ports() -> None:
    run = importlib.import_module("run")
    assert {name: port for _pkg, name, _var, port in run.SERVICES} == {
        app: port for app, (_pkg, port) in SERVICES.items()
    }
    config = yaml.safe_load((REPO / "monitoring/prometheus/prometheus-local.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "techcommerce"]
    scraped = {
        c["labels"]["service"]: int(c["targets"][0].rsplit(":", 1)[1])
        for c in job["static_configs"]
    }
    assert scraped == {app: port for app, (_pkg, port) in SERVICES.items()}


def test_the_image_healthcheck_reads_the_service_default_port() -> None:
    dockerfile = (REPO / "services/Dockerfile").read_text()
    (healthcheck,) = re.findall(r"^HEALTHCHECK .*$", dockerfile, flags=re.M)
    assert ".settings').DEFAULT_PORT" in healthcheck
    assert not re.search(r"\b(5000|5001|3000)\b", healthcheck)
