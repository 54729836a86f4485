"""Rolling update and disruption under light load, through the cluster's own Service addresses:
- a changed image of each service rolls out with zero failed requests;
- deleting a pod of each service loses no acknowledged order: every order that order-api
  acknowledged while the pods were killed is in the in-cluster database."""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from cluster_e2e.kube import NAMESPACE, REPO, SERVICES, Cluster, eventually
from cluster_e2e.load import Load
from support.orders import order_body

CONTAINERS = "hack/images/containers"


def rebuilt_image(cluster: Cluster, service: str) -> str:
    """The service's e2e image with one more label: a new digest, same code. Pushed to the
    in-cluster registry (the suite runs in the cluster's network namespace)."""
    env = {
        **os.environ,
        "CONTAINERS_CONF": str(REPO / CONTAINERS / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(REPO / CONTAINERS / "storage.conf"),
    }
    local = f"localhost/techcommerce-e2e/{service}:rollout"
    target = f"{cluster.registry}/techcommerce/{service}"
    digest_file = cluster.run_dir / "images" / f"{service}-rollout.digest"
    with tempfile.TemporaryDirectory() as context:  # an empty build context
        containerfile = Path(context) / "Containerfile"
        containerfile.write_text(
            f"FROM localhost/techcommerce/{service}:e2e\nLABEL e2e.rollout={uuid.uuid4().hex}\n"
        )
        for command in (
            [
                "podman",
                "build",
                "--quiet",
                "--format",
                "docker",
                "--isolation",
                "chroot",
                "--tag",
                local,
                "--file",
                str(containerfile),
                context,
            ],
            [
                "podman",
                "push",
                "--quiet",
                "--tls-verify=false",
                "--digestfile",
                str(digest_file),
                local,
                f"docker://{target}:rollout",
            ],
        ):
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    return f"{target}@{digest_file.read_text().strip()}"


@pytest.fixture(scope="module")
def order_target(seeded: Cluster) -> dict:
    """Where and what the load orders: order-api's Service, as the shop calls it (its credential
    from the Secret order-api-token)."""
    frontend = seeded.get("deployment", "frontend")["spec"]["template"]["spec"]["containers"][0]
    ref = next(e for e in frontend["env"] if e["name"] == "ORDER_API_TOKEN")["valueFrom"]
    ref = ref["secretKeyRef"]  # a generated name (kustomize adds a content hash)
    token = base64.b64decode(seeded.get("secret", ref["name"])["data"][ref["key"]]).decode()
    (product_id,) = seeded.sql(
        "SELECT id FROM catalog.products WHERE active AND stock >= 50 ORDER BY stock DESC LIMIT 1"
    )[0]
    return {
        "order_url": f"http://{seeded.service_ip('order-api')}:5001/orders",
        "order_body": order_body((int(product_id), 1), email="e2e@example.com"),
        "order_headers": {"Authorization": f"Bearer {token}"},
    }


def shop_urls(cluster: Cluster) -> list[str]:
    frontend = f"http://{cluster.service_ip('frontend')}"
    product_api = f"http://{cluster.service_ip('product-api')}:5000"
    return [frontend + "/", frontend + "/products/1", product_api + "/products?limit=5"]


def shop_load(cluster: Cluster, order_target: dict) -> Load:
    """Shoppers browsing and ordering while a test disrupts the cluster (at most 10 minutes)."""
    return Load(shop_urls(cluster), concurrency=2, pause=0.05, max_seconds=600, **order_target)


def orders_in_database(cluster: Cluster, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    quoted = ",".join(f"'{i}'" for i in ids)
    return {
        row[0] for row in cluster.sql(f"SELECT id::text FROM orders.orders WHERE id IN ({quoted})")
    }


def test_a_changed_image_rolls_out_with_zero_failed_requests(seeded: Cluster, order_target, report):
    cluster = seeded
    images = {service: rebuilt_image(cluster, service) for service in SERVICES}
    with shop_load(cluster, order_target) as load:
        for service in SERVICES:
            cluster.kubectl(
                "-n",
                NAMESPACE,
                "set",
                "image",
                f"deployment/{service}",
                f"{service}={images[service]}",
            )
            cluster.rollout_status(f"deployment/{service}", timeout=300)
    for service in SERVICES:
        for pod in cluster.pods(f"app.kubernetes.io/name={service}"):
            if not pod["metadata"].get("deletionTimestamp"):
                assert pod["spec"]["containers"][0]["image"] == images[service]
    report(f"rolling update of 3 services: {load.tally.summary()}")
    assert load.tally.failed == 0, load.tally.summary()
    assert load.tally.shed == 0, load.tally.summary()
    assert load.tally.ok > 50
    acknowledged = load.tally.acknowledged_orders
    assert orders_in_database(cluster, acknowledged) == set(acknowledged)


def test_deleting_a_pod_of_each_service_loses_no_acknowledged_order(
    seeded: Cluster, order_target, report
):
    cluster = seeded
    with shop_load(cluster, order_target) as load:
        for name in (*SERVICES, "postgres"):
            pod = cluster.running_pod(name)
            uid = cluster.get(f"pod/{pod}")["metadata"]["uid"]
            cluster.kubectl("-n", NAMESPACE, "delete", "pod", pod, "--wait=false")
            kind = "statefulset" if name == "postgres" else "deployment"
            replicas = cluster.get(f"{kind}/{name}")["spec"]["replicas"]
            eventually(
                lambda uid=uid, name=name: uid not in cluster.serving_pods(name),
                60,
                what=f"{pod} to leave the serving set",
            )
            cluster.rollout_status(f"{kind}/{name}", timeout=300)
            cluster.wait_serving(name, replicas, timeout=300)
        # PostgreSQL is back when the APIs reach it again, not when its own pod is Ready
        cluster.wait_database_reachable()
    acknowledged = load.tally.acknowledged_orders
    report(
        f"pod deletions (product-api, order-api, frontend, postgres): {load.tally.summary()};"
        f" {len(acknowledged)} orders acknowledged"
    )
    assert acknowledged, load.tally.summary()
    assert orders_in_database(cluster, acknowledged) == set(acknowledged)
