"""How product-api's throughput grows with replicas in the real cluster that `make e2e` builds.

    E2E_KEEP=1 make e2e     # a cluster left up, the staging overlay deployed
    ip netns exec techcommerce-e2e .venv/bin/python -m hack.bench.cluster_replicas

GET /products/{id} over the demo catalog, 32 connections, sent by wrk from the cluster's network
namespace to the product-api Service's cluster address (kube-proxy spreads the connections over
the ready pods), with the HorizontalPodAutoscaler pinned to 1, 2, then 3 replicas (its minimum and
maximum patched on the live object, restored afterwards). Each pod is capped by the overlay's CPU
limit (500m); the node is the whole 2-core machine, shared with wrk, PostgreSQL, the control plane
and Tekton. Prints throughput, p99 and the CPU us per request of the product-api pods (their
service processes, read from /proc in each pod).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hack.bench import common

NAMESPACE = "techcommerce-staging"
KUBECTL = str(Path(__file__).resolve().parents[1] / "e2e" / "kubectl")
PORT = 5000
REPLICAS = (1, 2, 3)
# The CPU seconds of the pod's process (the service is the container's PID 1): user + system.
READ_CPU_SECONDS = (
    "import os; f = open('/proc/1/stat').read().rsplit(')', 1)[1].split();"
    " print((int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'))"
)


def kubectl(*args: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        [KUBECTL, "-n", NAMESPACE, *args], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench: kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def pin_hpa(minimum: int, maximum: int) -> None:
    patch = {"spec": {"minReplicas": minimum, "maxReplicas": maximum}}
    kubectl("patch", "hpa", "product-api", "--type=merge", "-p", json.dumps(patch))


def ready_pods() -> list[str]:
    """The names of the product-api pods that are ready and not terminating."""
    pods = json.loads(
        kubectl("get", "pods", "-l", "app.kubernetes.io/name=product-api", "-o", "json")
    )["items"]
    return [
        pod["metadata"]["name"]
        for pod in pods
        if "deletionTimestamp" not in pod["metadata"]
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod.get("status", {}).get("conditions", [])
        )
    ]


def wait_for_replicas(count: int, timeout: float = 300) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        pods = ready_pods()
        endpoints = json.loads(kubectl("get", "endpoints", "product-api", "-o", "json"))
        addresses = sum(len(s.get("addresses", [])) for s in endpoints.get("subsets", []))
        if len(pods) == count and addresses == count:
            return pods
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: product-api did not settle at {count} ready replicas")
        time.sleep(3)


class Pods:
    """The product-api pods as one wrk target: the Service's address, their summed CPU time."""

    def __init__(self, url: str, names: list[str]) -> None:
        self.url = url
        self.names = names

    def cpu_seconds(self) -> float:
        total = 0.0
        for name in self.names:
            total += float(kubectl("exec", name, "--", "python", "-c", READ_CPU_SECONDS))
        return total


def product_ids(base: str) -> list[int]:
    ids: list[int] = []
    offset = 0
    while True:
        url = f"{base}/products?limit=100&offset={offset}"  # the cluster's own Service
        with urllib.request.urlopen(url, timeout=10) as response:  # nosec B310
            page = json.load(response)
        ids += [item["id"] for item in page["items"]]
        offset += 100
        if offset >= page["total"]:
            return ids


def main() -> int:
    args = common.arguments(__doc__, seconds=10)
    ip = kubectl("get", "service", "product-api", "-o", "jsonpath={.spec.clusterIP}").strip()
    base = f"http://{ip}:{PORT}"
    kubectl("exec", "deploy/product-api", "--", "python", "-m", "product_api.seed", timeout=300)
    ids = product_ids(base)
    script = common.random_paths("/products/%d", ids)
    hpa = json.loads(kubectl("get", "hpa", "product-api", "-o", "json"))["spec"]
    print(
        f"cluster replicas benchmark: {len(ids)} products, product-api Service {base},"
        f" HPA {hpa['minReplicas']}-{hpa['maxReplicas']} (restored afterwards)",
        flush=True,
    )
    results = common.Results()
    try:
        for count in REPLICAS:
            pin_hpa(count, count)
            pods = Pods(base, wait_for_replicas(count))
            common.wrk(pods, script, connections=8, seconds=3, cpu=None)  # the new pods' caches
            for _ in range(args.repeats):
                run = common.wrk(
                    pods, script, connections=args.connections, seconds=args.seconds, cpu=None
                )
                results.add(f"{count} product-api pod(s) GET /products/{{id}}", run)
    finally:
        pin_hpa(hpa["minReplicas"], hpa["maxReplicas"])
    results.summary()
    labels = [f"{count} product-api pod(s) GET /products/{{id}}" for count in REPLICAS]
    print()
    for label in labels[1:]:
        ratio, _ = results.ratio(label, labels[0])
        print(f"{label.split(' product-api')[0]} pods serve {ratio:.2f}x the throughput of one")
    return 1 if results.bad_answers() else 0


if __name__ == "__main__":
    sys.exit(main())
