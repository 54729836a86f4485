"""monitoring/kubernetes renders with kustomize into a hardened stack whose ConfigMaps carry the
very files the other tests check, mounted where the configs expect them."""

from __future__ import annotations

import re

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    ALERTMANAGER_CONFIG,
    DASHBOARDS_DIR,
    MONITORING,
    PROMETHEUS_DIR,
    ROOT,
    kustomize_command,
    rule_files,
    run,
)


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    result = run([*kustomize_command(), str(MONITORING / "kubernetes")])
    assert result.returncode == 0, result.stdout
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(docs, kind, name):
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def configmap(docs, prefix):
    """Generated ConfigMaps carry a content hash suffix."""
    (doc,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap"
        and re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", d["metadata"]["name"])
    ]
    return doc


WORKLOADS = {
    ("StatefulSet", "prometheus"),
    ("StatefulSet", "alertmanager"),
    ("Deployment", "grafana"),
    ("Deployment", "kube-state-metrics"),
    ("DaemonSet", "node-exporter"),
}


def workloads(docs):
    return [d for d in docs if d["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}]


def test_renders_every_component(rendered):
    assert {(d["kind"], d["metadata"]["name"]) for d in workloads(rendered)} == WORKLOADS
    for _kind, name in WORKLOADS:
        assert find(rendered, "Service", name)


@pytest.mark.parametrize(("kind", "name"), sorted(WORKLOADS))
def test_containers_are_hardened_like_the_app_pods(rendered, kind, name):
    spec = find(rendered, kind, name)["spec"]["template"]["spec"]
    pod_security = spec.get("securityContext", {})
    for container in spec["containers"]:
        security = {**pod_security, **container.get("securityContext", {})}
        assert security["runAsNonRoot"] is True
        assert isinstance(security["runAsUser"], int) and security["runAsUser"] > 0
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "privileged" not in security
        resources = container["resources"]
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[section]), (name, section)
        assert container["readinessProbe"] and container["livenessProbe"]
        image = container["image"]
        assert re.fullmatch(r"[a-z0-9./-]+:v?\d+\.\d+\.\d+", image), image  # pinned, no latest


def test_only_node_exporter_shares_the_host(rendered):
    for doc in workloads(rendered):
        spec = doc["spec"]["template"]["spec"]
        host = spec.get("hostNetwork") or spec.get("hostPID")
        host_paths = [v for v in spec.get("volumes", []) if "hostPath" in v]
        if doc["metadata"]["name"] == "node-exporter":
            assert doc["metadata"]["namespace"] == "node-exporter"
            for mount in spec["containers"][0]["volumeMounts"]:
                assert mount["readOnly"] is True
        else:
            assert not host and not host_paths, doc["metadata"]["name"]
            assert doc["metadata"]["namespace"] == "monitoring"


def test_namespaces_enforce_pod_security(rendered):
    assert (
        find(rendered, "Namespace", "monitoring")["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "restricted"
    )
    node = find(rendered, "Namespace", "node-exporter")["metadata"]["labels"]
    assert node["pod-security.kubernetes.io/enforce"] == "privileged"
    assert node["pod-security.kubernetes.io/warn"] == "restricted"


def mounts(workload) -> dict[str, str]:
    """volume name -> mount path of the first container."""
    return {
        m["name"]: m["mountPath"]
        for m in workload["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }


def volume_sources(workload) -> dict[str, dict]:
    return {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}


def test_prometheus_gets_its_config_rules_and_a_persistent_volume(rendered):
    prometheus = find(rendered, "StatefulSet", "prometheus")
    config = configmap(rendered, "prometheus-config")
    rules = configmap(rendered, "prometheus-rules")
    assert config["data"]["prometheus.yml"] == (PROMETHEUS_DIR / "prometheus.yml").read_text()
    assert set(rules["data"]) == {path.name for path in rule_files()}, "a rule file is not shipped"
    for path in rule_files():
        assert rules["data"][path.name] == path.read_text()
    volumes = volume_sources(prometheus)
    paths = mounts(prometheus)
    assert volumes["config"]["configMap"]["name"] == config["metadata"]["name"]
    assert volumes["rules"]["configMap"]["name"] == rules["metadata"]["name"]
    args = prometheus["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--config.file={paths['config']}/prometheus.yml" in args
    cluster_config = yaml.safe_load(config["data"]["prometheus.yml"])
    assert cluster_config["rule_files"] == [f"{paths['rules']}/*.yml"]
    (claim,) = prometheus["spec"]["volumeClaimTemplates"]
    assert paths[claim["metadata"]["name"]] == "/prometheus"
    assert "--storage.tsdb.path=/prometheus" in args


def test_prometheus_may_discover_and_read_the_kubelet(rendered):
    role = find(rendered, "ClusterRole", "techcommerce-prometheus")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "endpoints", "nodes", "nodes/proxy"} <= resources
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    binding = find(rendered, "ClusterRoleBinding", "techcommerce-prometheus")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}
    ]
    prometheus = find(rendered, "StatefulSet", "prometheus")
    assert prometheus["spec"]["template"]["spec"]["serviceAccountName"] == "prometheus"


def test_kube_state_metrics_cannot_read_secrets(rendered):
    role = find(rendered, "ClusterRole", "techcommerce-kube-state-metrics")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert "secrets" not in resources and "configmaps" not in resources
    assert "horizontalpodautoscalers" in resources and "pods" in resources


def test_alertmanager_config_and_receiver_secrets_are_mounted(rendered):
    alertmanager = find(rendered, "StatefulSet", "alertmanager")
    config = configmap(rendered, "alertmanager-config")
    assert config["data"]["alertmanager.yml"] == ALERTMANAGER_CONFIG.read_text()
    paths = mounts(alertmanager)
    secret_files = re.findall(r"_file: (\S+)", ALERTMANAGER_CONFIG.read_text())
    assert secret_files
    for path in secret_files:
        assert path.startswith(paths["secrets"] + "/"), path
    assert (
        volume_sources(alertmanager)["secrets"]["secret"]["secretName"] == "alertmanager-receivers"
    )


def test_grafana_mounts_provisioning_and_every_dashboard(rendered):
    grafana = find(rendered, "Deployment", "grafana")
    dashboards = configmap(rendered, "grafana-dashboards")
    assert set(dashboards["data"]) == {p.name for p in DASHBOARDS_DIR.glob("*.json")}
    paths = mounts(grafana)
    providers = yaml.safe_load(
        configmap(rendered, "grafana-dashboard-providers")["data"]["techcommerce.yaml"]
    )
    assert providers["providers"][0]["options"]["path"] == paths["dashboards"]
    assert paths["datasources"] == "/etc/grafana/provisioning/datasources"
    assert paths["dashboard-providers"] == "/etc/grafana/provisioning/dashboards"
    datasource = yaml.safe_load(
        configmap(rendered, "grafana-datasources")["data"]["prometheus.yaml"]
    )
    service = find(rendered, "Service", "prometheus")
    port = service["spec"]["ports"][0]["port"]
    assert datasource["datasources"][0]["url"] == f"http://prometheus.monitoring.svc:{port}"


def test_services_select_their_pods(rendered):
    for kind, name in WORKLOADS:
        workload = find(rendered, kind, name)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        selector = find(rendered, "Service", name)["spec"]["selector"]
        assert selector.items() <= labels.items(), name


def test_rendered_manifests_match_the_kubernetes_schemas(tmp_path):
    """Strict schema validation (unknown fields fail) with kubernetes-validate, which
    hack/dev/deps/manifests.sh installs into .venv-tools for the manifest tests."""
    validator = ROOT / ".venv-tools" / "kubernetes-validate" / "bin" / "kubernetes-validate"
    assert validator.exists(), "run hack/setup.sh (hack/dev/deps/manifests.sh installs it)"
    result = run([*kustomize_command(), str(MONITORING / "kubernetes")])
    assert result.returncode == 0, result.stdout
    rendered = tmp_path / "monitoring.yaml"
    rendered.write_text(result.stdout)
    checked = run([str(validator), "--strict", "--quiet", "-k", "1.30.0", str(rendered)])
    assert checked.returncode == 0, checked.stdout


def test_the_app_network_policies_admit_this_prometheus(rendered):
    """manifests/base/networkpolicies.yaml lets Prometheus scrape the services by its namespace
    and pod labels: the Prometheus pod rendered here must carry them."""
    policies = [
        doc
        for doc in yaml.safe_load_all((ROOT / "manifests/base/networkpolicies.yaml").read_text())
        if doc
    ]
    peers = [
        peer
        for policy in policies
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "monitoring"
    ]
    assert peers, "no NetworkPolicy admits the monitoring namespace"
    prometheus = find(rendered, "StatefulSet", "prometheus")
    labels = prometheus["spec"]["template"]["metadata"]["labels"]
    assert prometheus["metadata"]["namespace"] == "monitoring"
    for peer in peers:
        assert peer["podSelector"]["matchLabels"].items() <= labels.items(), peer
