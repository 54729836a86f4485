"""NetworkPolicy is enforced (kube-router, policy-only): the project's policies
(manifests/base/networkpolicies.yaml) decide which connections open, in both directions.

Throwaway pods run in a namespace of their own without policies (restricted Pod Security too):
a `listener` (HTTP on 8080) and a `client`. Ingress: from the client, only the frontend is
reachable; PostgreSQL and the APIs are not. Egress: the project's pods cannot reach the listener,
which the client reaches. The allowed flows work from the allowed pods."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cluster_e2e.kube import HARDENED, Cluster

PROBE_NAMESPACE = "techcommerce-e2e-probe"
# Prints "open" or "blocked <reason>" for a TCP connection to argv[1]:argv[2] (3 s timeout).
CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "    print('open')\n"
    "except OSError as error:\n"
    "    print('blocked', error)\n"
)


def probe_pod(name: str, image: str, command: list[str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": PROBE_NAMESPACE, "labels": {"e2e-probe": name}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "command": command,
                    "securityContext": HARDENED,
                    "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def probes(cluster: Cluster) -> Iterator[dict[str, str]]:
    """Pod IPs of the throwaway listener and client."""
    image = cluster.image_digest("techcommerce/product-api")
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": PROBE_NAMESPACE,
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
        },
    }
    items = [
        namespace,
        probe_pod("listener", image, ["python", "-m", "http.server", "8080", "-d", "/tmp"]),
        probe_pod("client", image, ["sleep", "3600"]),
    ]
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    try:
        cluster.wait(
            "--for=condition=Ready", "pod/listener", "pod/client", namespace=PROBE_NAMESPACE
        )
        yield {
            name: cluster.get("pod", name, namespace=PROBE_NAMESPACE)["status"]["podIP"]
            for name in ("listener", "client")
        }
    finally:
        cluster.kubectl("delete", "namespace", PROBE_NAMESPACE, "--wait=false", check=False)


def connect(cluster: Cluster, pod: str, host: str, port: int, namespace: str) -> str:
    proc = cluster.exec(pod, "python", "-c", CONNECT, host, str(port), namespace=namespace)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def pod_ip(cluster: Cluster, name: str) -> str:
    return cluster.get("pod", cluster.running_pod(name))["status"]["podIP"]


def test_from_a_throwaway_pod_only_the_frontend_is_reachable(cluster: Cluster, probes):
    staging = "techcommerce-staging.svc.cluster.local"
    results = {
        target: connect(cluster, "client", host, port, PROBE_NAMESPACE)
        for target, host, port in (
            ("listener (no policy)", probes["listener"], 8080),
            ("frontend service", f"frontend.{staging}", 80),
            ("frontend pod", pod_ip(cluster, "frontend"), 3000),
            ("product-api service", f"product-api.{staging}", 5000),
            ("product-api pod", pod_ip(cluster, "product-api"), 5000),
            ("order-api service", f"order-api.{staging}", 5001),
            ("order-api pod", pod_ip(cluster, "order-api"), 5001),
            ("postgres", f"postgres.{staging}", 5432),
        )
    }
    opened = {target for target, result in results.items() if result == "open"}
    assert opened == {"listener (no policy)", "frontend service", "frontend pod"}, results


def test_the_allowed_flows_work_from_the_allowed_pods(cluster: Cluster):
    frontend = cluster.running_pod("frontend")
    product_api = cluster.running_pod("product-api")
    order_api = cluster.running_pod("order-api")
    assert connect(cluster, frontend, "product-api", 5000, "techcommerce-staging") == "open"
    assert connect(cluster, frontend, "order-api", 5001, "techcommerce-staging") == "open"
    assert connect(cluster, product_api, "postgres", 5432, "techcommerce-staging") == "open"
    assert connect(cluster, order_api, "postgres", 5432, "techcommerce-staging") == "open"


def test_egress_outside_the_allowed_flows_is_blocked(cluster: Cluster, probes):
    """The listener is reachable (the client above opens it) but not from the project's pods;
    nor are the flows the policies leave out inside the namespace."""
    frontend = cluster.running_pod("frontend")
    product_api = cluster.running_pod("product-api")
    order_api = cluster.running_pod("order-api")
    ns = "techcommerce-staging"
    assert connect(cluster, "client", probes["listener"], 8080, PROBE_NAMESPACE) == "open"
    for pod in (frontend, product_api, order_api):
        assert connect(cluster, pod, probes["listener"], 8080, ns).startswith("blocked"), pod
    assert connect(cluster, frontend, "postgres", 5432, ns).startswith("blocked")
    assert connect(cluster, product_api, "order-api", 5001, ns).startswith("blocked")
    assert connect(cluster, order_api, "product-api", 5000, ns).startswith("blocked")
