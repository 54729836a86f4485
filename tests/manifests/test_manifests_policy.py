"""The project's own policy over the rendered overlays (what kubectl would apply).

Hardening of every container, selectors and ports that connect, configuration references that
resolve, configuration that the services themselves accept, NetworkPolicies that allow exactly
the intended flows, probes that hit real routes.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from kit.settings import ConfigError
from manifests.manifest_lib import (
    SERVICES,
    Rendered,
    container_env,
    container_ports,
    resolve_port,
    selector_matches,
)

SEED_REQUESTS = {"cpu": "250m", "memory": "256Mi"}
SEED_LIMITS = {"cpu": "500m", "memory": "512Mi"}
POSTGRES_MAX_CONNECTIONS = 100  # the server default; postgres.yaml does not change it


def _pod_or_container(spec: dict, container: dict, key: str) -> Any:
    """A securityContext field as Kubernetes resolves it: the container's, else the pod's."""
    value = container.get("securityContext", {}).get(key)
    return spec.get("securityContext", {}).get(key) if value is None else value


def test_every_container_is_hardened(rendered: Rendered) -> None:
    problems = []
    for workload, spec, container in rendered.containers():
        where = f"{rendered.name} {workload['kind']}/{workload['metadata']['name']}"
        sc = container.get("securityContext", {})
        if _pod_or_container(spec, container, "runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot")
        uid = _pod_or_container(spec, container, "runAsUser")
        if not isinstance(uid, int) or uid < 10000:
            problems.append(f"{where}: runAsUser must be a numeric UID >= 10000, got {uid!r}")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation")
        if sc.get("privileged", False):
            problems.append(f"{where}: privileged")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc["capabilities"].get("add"):
            problems.append(f"{where}: capabilities must drop ALL and add none")
        seccomp = _pod_or_container(spec, container, "seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile RuntimeDefault")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            if set(resources.get(part, {})) != {"cpu", "memory"}:
                problems.append(f"{where}: {part} must set cpu and memory")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                problems.append(f"{where}: {flag}")
        if any("hostPath" in v for v in spec.get("volumes", [])):
            problems.append(f"{where}: hostPath volume")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken must be false")
        # Jobs run to completion: a probe would only restart a migration half-way.
        if workload["kind"] != "Job":
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where}: {probe} missing")
    assert not problems, "\n".join(problems)


def test_service_containers_use_the_seed_resources_in_production(rendered_all) -> None:
    production = rendered_all["production"]
    for name in SERVICES:
        container = production.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"] == {"requests": SEED_REQUESTS, "limits": SEED_LIMITS}


def test_every_service_account_exists_and_mounts_no_token(rendered: Rendered) -> None:
    for workload, template in rendered.pod_templates():
        account = template["spec"].get("serviceAccountName")
        assert account == workload["metadata"]["name"], "each workload has its own account"
        assert rendered.get("ServiceAccount", account)["automountServiceAccountToken"] is False


def test_http_probes_and_graceful_shutdown_fit_the_grace_period(rendered: Rendered) -> None:
    for name in SERVICES:
        deployment = rendered.get("Deployment", name)
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["startupProbe"]["httpGet"]["path"] == "/health"
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep", pre_stop
        env = container_env(rendered, container)
        budget = float(pre_stop[1]) + float(env["DRAIN_SECONDS"])
        budget += float(env["SHUTDOWN_TIMEOUT_SECONDS"])
        grace = spec["terminationGracePeriodSeconds"]
        assert budget < grace, f"{name}: preStop + drain + shutdown = {budget} s >= {grace} s"


def test_rollouts_keep_capacity_and_spread_over_nodes(rendered: Rendered) -> None:
    for name in SERVICES:
        deployment = rendered.get("Deployment", name)
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in spread}
        assert "kubernetes.io/hostname" in keys
        for constraint in spread:
            assert selector_matches(
                constraint["labelSelector"], deployment["spec"]["template"]["metadata"]["labels"]
            )


def test_workload_selectors_match_their_pod_labels(rendered: Rendered) -> None:
    for workload, template in rendered.pod_templates():
        if workload["kind"] == "Job":
            continue  # the Job controller generates its own selector
        assert selector_matches(workload["spec"]["selector"], template["metadata"]["labels"]), (
            workload["metadata"]["name"]
        )


def test_services_select_exactly_one_workload_and_its_ports_exist(rendered: Rendered) -> None:
    for service in rendered.of_kind("Service"):
        matches = rendered.pods_matching(service["spec"]["selector"])
        names = [w["metadata"]["name"] for w, _ in matches]
        assert names == [service["metadata"]["name"]], f"Service {names}"
        template = matches[0][1]
        for port in service["spec"]["ports"]:
            assert resolve_port(template, port["targetPort"]) is not None, (
                f"Service {service['metadata']['name']}: targetPort {port['targetPort']} "
                f"is not a port of its pods {container_ports(template)}"
            )


def test_disruption_budgets_and_autoscalers_point_at_real_workloads(rendered: Rendered) -> None:
    covered = set()
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        matches = rendered.pods_matching(pdb["spec"]["selector"])
        assert len(matches) == 1, pdb["metadata"]["name"]
        covered.add(matches[0][0]["metadata"]["name"])
    assert covered == set(SERVICES)
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert rendered.find(ref["kind"], ref["name"]) is not None


def test_every_referenced_configmap_and_secret_key_exists(rendered: Rendered) -> None:
    problems = []
    for workload, spec, container in rendered.containers():
        where = f"{workload['metadata']['name']}/{container['name']}"
        for source in container.get("envFrom", []):
            for ref, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if ref in source and rendered.find(kind, source[ref]["name"]) is None:
                    problems.append(f"{where}: {kind} {source[ref]['name']} missing")
        for item in container.get("env", []):
            for ref, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                key_ref = item.get("valueFrom", {}).get(ref)
                if key_ref is None:
                    continue
                if rendered.find(kind, key_ref["name"]) is None:
                    problems.append(f"{where}: {kind} {key_ref['name']} missing")
                elif key_ref["key"] not in rendered.config_data(kind, key_ref["name"]):
                    problems.append(f"{where}: {kind} {key_ref['name']} has no {key_ref['key']}")
            # $(VAR) only expands variables defined earlier in the list.
            defined = {i["name"] for i in container["env"][: container["env"].index(item)]}
            for var in re.findall(r"\$\((\w+)\)", item.get("value", "")):
                if var not in defined:
                    problems.append(f"{where}: {item['name']} uses $({var}) before it is set")
        for volume in spec.get("volumes", []):
            for ref, kind, key in (
                ("configMap", "ConfigMap", "name"),
                ("secret", "Secret", "secretName"),
            ):
                if ref in volume and rendered.find(kind, volume[ref][key]) is None:
                    problems.append(f"{where}: volume {kind} {volume[ref][key]} missing")
    assert not problems, "\n".join(problems)


def _settings_module(package: str):
    return importlib.import_module(f"{package}.settings")


def test_each_service_accepts_its_rendered_configuration(rendered: Rendered) -> None:
    """The environment Kubernetes would give each container passes the service's own validation."""
    for name, (package, port) in SERVICES.items():
        container = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        env = container_env(rendered, container)
        module = _settings_module(package)
        try:
            settings = module.load_settings(env)
        except ConfigError as err:
            raise AssertionError(f"{rendered.name} {name}: {err}") from err
        assert settings.http.port == port == container["ports"][0]["containerPort"]
        if "DATABASE_URL" in env:
            # Each API connects as its own role with its own password, never as the migrator.
            role = package
            password = env[f"{package.upper()}_DB_PASSWORD"]
            assert re.fullmatch(r"[0-9a-f]{48}", password)
            assert (
                env["DATABASE_URL"] == f"postgresql://{role}:{password}@postgres:5432/techcommerce"
            )
            assert "POSTGRES_USER" not in env and "POSTGRES_PASSWORD" not in env
    migrate = container_env(
        rendered, rendered.get("Job", "migrate")["spec"]["template"]["spec"]["containers"][0]
    )
    assert re.fullmatch(
        r"postgresql://techcommerce:[0-9a-f]{48}@postgres:5432/techcommerce",
        migrate["DATABASE_URL"],
    )
    # The Job sets the services' passwords: the very values the services connect with.
    for name, (package, _port) in SERVICES.items():
        container = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        if package in ("product_api", "order_api"):
            variable = f"{package.upper()}_DB_PASSWORD"
            assert migrate[variable] == container_env(rendered, container)[variable]
    passwords = {migrate["PRODUCT_API_DB_PASSWORD"], migrate["ORDER_API_DB_PASSWORD"]}
    assert len(passwords | {migrate["POSTGRES_PASSWORD"]}) == 3


def test_the_shop_holds_the_credential_order_api_checks(rendered: Rendered) -> None:
    """order-api answers only the shop's token: both read it from the same Secret key, and no
    other workload gets it."""

    def env_of(name: str) -> dict[str, str]:
        container = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        return container_env(rendered, container)

    token = env_of("order-api")["ORDER_API_SERVICE_TOKEN"]
    assert re.fullmatch(r"[0-9a-f]{48}", token)
    assert env_of("frontend")["ORDER_API_TOKEN"] == token
    assert token != env_of("order-api")["ADMIN_TOKEN"]
    holders = {
        workload["metadata"]["name"]
        for workload, _, container in rendered.containers()
        if token in container_env(rendered, container).values()
    }
    assert holders == {"order-api", "frontend"}


def test_configured_addresses_point_at_real_services(rendered: Rendered) -> None:
    """Every URL a container is configured with names a Service here and a port it exposes."""
    checked = 0
    for workload, _, container in rendered.containers():
        if not container.get("env") and not container.get("envFrom"):
            continue
        for var, value in container_env(rendered, container).items():
            match = re.fullmatch(
                r"(?:https?|postgresql)://(?:[^@/]*@)?([a-z0-9-]+):(\d+)(?:/.*)?", value
            )
            if not var.endswith("_URL") or match is None:
                continue
            host, port = match.group(1), int(match.group(2))
            service = rendered.find("Service", host)
            assert service is not None, f"{workload['metadata']['name']} {var}: no Service {host}"
            assert port in [p["port"] for p in service["spec"]["ports"]], f"{var}: port {port}"
            checked += 1
    assert checked >= 5  # 2 frontend API URLs + 3 DATABASE_URLs


def test_database_connections_fit_postgres_max_connections(rendered: Rendered) -> None:
    total = 1  # the migration Job
    for name in ("product-api", "order-api"):
        deployment = rendered.get("Deployment", name)
        hpa = rendered.find("HorizontalPodAutoscaler", name)
        pods = hpa["spec"]["maxReplicas"] if hpa else deployment["spec"]["replicas"]
        # A rolling update adds maxSurge pods on top.
        pods += deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        env = container_env(rendered, deployment["spec"]["template"]["spec"]["containers"][0])
        total += pods * int(env["DB_POOL_MAX"])
    assert total < POSTGRES_MAX_CONNECTIONS - 3, f"{total} connections at most"  # 3 reserved


def _routes(package: str) -> set[str]:
    """The paths the service's real application factory registers."""
    app_module = importlib.import_module(f"{package}.app")
    env = {
        "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db",
        "ADMIN_TOKEN": "x" * 32,
        "ORDER_API_SERVICE_TOKEN": "x" * 32,
        "ORDER_API_TOKEN": "x" * 32,
        "SESSION_SECRET": "x" * 64,
        "PRODUCT_API_URL": "http://127.0.0.1:1",
        "ORDER_API_URL": "http://127.0.0.1:1",
    }
    app = app_module.create_app(_settings_module(package).load_settings(env))
    return {r.canonical for r in app.router.resources()}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_probe_and_scrape_paths_exist_in_the_service_router(rendered: Rendered, name: str) -> None:
    package, _ = SERVICES[name]
    routes = _routes(package)
    template = rendered.get("Deployment", name)["spec"]["template"]
    container = template["spec"]["containers"][0]
    paths = {
        container[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    paths.add(template["metadata"]["annotations"]["prometheus.io/path"])
    assert paths <= routes, f"{name}: {paths - routes} not served (routes: {sorted(routes)})"
    port = int(template["metadata"]["annotations"]["prometheus.io/port"])
    assert port in container_ports(template).values()


# ---- NetworkPolicies -------------------------------------------------------------------------

MONITORING = ("monitoring", "prometheus")
EXPECTED_FLOWS = {
    ("*", "frontend", 3000),
    ("frontend", "product-api", 5000),
    ("frontend", "order-api", 5001),
    (MONITORING, "product-api", 5000),
    (MONITORING, "order-api", 5001),
    ("product-api", "postgres", 5432),
    ("order-api", "postgres", 5432),
    ("migrate", "postgres", 5432),
}


def _template(rendered: Rendered, name: str) -> dict:
    return next(t for w, t in rendered.pod_templates() if w["metadata"]["name"] == name)


def _peers(rendered: Rendered, peer: dict) -> list:
    """A NetworkPolicy peer as local workload names, [(namespace, app)] outside, or ['*']."""
    if "ipBlock" in peer:
        cidr = peer["ipBlock"]["cidr"]
        return (
            ["*"] if cidr in ("0.0.0.0/0", "::/0") and not peer["ipBlock"].get("except") else [cidr]
        )
    if "namespaceSelector" in peer:
        ns = peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
        assert ns, f"namespaceSelector without kubernetes.io/metadata.name: {peer}"
        app = peer.get("podSelector", {}).get("matchLabels", {})
        assert app, f"a peer in namespace {ns} must select pods: {peer}"
        return [(ns, app.get("app.kubernetes.io/name") or app.get("k8s-app"))]
    matches = rendered.pods_matching(peer["podSelector"])
    assert matches, f"peer selector {peer['podSelector']} matches no pod"
    return [w["metadata"]["name"] for w, _ in matches]


def _flows(rendered: Rendered) -> tuple[set, set]:
    """(source, destination, port) allowed by ingress rules, and by egress rules."""
    ingress, egress = set(), set()
    for policy in rendered.of_kind("NetworkPolicy"):
        name, spec = policy["metadata"]["name"], policy["spec"]
        selected = [w["metadata"]["name"] for w, _ in rendered.pods_matching(spec["podSelector"])]
        assert selected, f"NetworkPolicy {name} selects no pod"
        for rule in spec.get("ingress", []):
            assert rule.get("ports"), f"NetworkPolicy {name}: an ingress rule without ports"
            sources = [s for p in rule.get("from", []) for s in _peers(rendered, p)] or ["*"]
            for target in selected:
                for port in rule["ports"]:
                    assert resolve_port(_template(rendered, target), port["port"]), (
                        f"NetworkPolicy {name}: port {port['port']} is not a port of {target}"
                    )
                    ingress.update((source, target, port["port"]) for source in sources)
        for rule in spec.get("egress", []):
            assert rule.get("ports"), f"NetworkPolicy {name}: an egress rule without ports"
            assert rule.get("to"), f"NetworkPolicy {name}: an egress rule to anywhere"
            for dest in (d for p in rule["to"] for d in _peers(rendered, p)):
                for port in rule["ports"]:
                    if isinstance(dest, str) and dest != "*":
                        assert resolve_port(_template(rendered, dest), port["port"]), (
                            f"NetworkPolicy {name}: port {port['port']} is not a port of {dest}"
                        )
                    egress.update((source, dest, port["port"]) for source in selected)
    return ingress, egress


def _names(rendered: Rendered) -> set[str]:
    return {w["metadata"]["name"] for w in rendered.workloads()}


def test_network_policies_deny_by_default(rendered: Rendered) -> None:
    deny = rendered.get("NetworkPolicy", "default-deny-all")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_network_policies_allow_exactly_the_intended_flows(rendered: Rendered) -> None:
    ingress, egress = _flows(rendered)
    assert ingress == EXPECTED_FLOWS
    dns = {(w, ("kube-system", "kube-dns"), 53) for w in _names(rendered)}
    in_cluster = {f for f in EXPECTED_FLOWS if f[0] in _names(rendered)}
    # Each in-cluster flow must be allowed on both ends; egress adds only DNS.
    assert egress == in_cluster | dns
