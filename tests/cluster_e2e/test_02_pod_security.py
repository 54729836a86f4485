"""Pod Security admission, enforced by the real API server from the namespace labels the staging
overlay sets: a Pod that breaks `restricted` is refused; every project Pod was admitted and runs."""

from __future__ import annotations

import json

from cluster_e2e.kube import HARDENED, NAMESPACE, SERVICES, Cluster


def pod_manifest(name: str, image: str, security: dict | None) -> str:
    container: dict = {"name": "probe", "image": image, "command": ["sleep", "60"]}
    if security is not None:
        container["securityContext"] = security
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"containers": [container], "restartPolicy": "Never"},
        }
    )


def test_the_namespace_enforces_restricted(cluster: Cluster):
    labels = cluster.get("namespace", NAMESPACE, namespace="default")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_pod_that_breaks_restricted_is_refused(cluster: Cluster):
    image = cluster.image_digest("techcommerce/product-api")
    for name, security in (
        ("e2e-privileged", {"privileged": True}),
        ("e2e-root-default", None),  # no runAsNonRoot, no seccomp, capabilities kept
    ):
        proc = cluster.kubectl(
            "apply", "-f", "-", input=pod_manifest(name, image, security), check=False
        )
        assert proc.returncode != 0, f"{name} was admitted"
        assert 'violates PodSecurity "restricted:latest"' in proc.stderr, proc.stderr
        assert cluster.kubectl("-n", NAMESPACE, "get", "pod", name, check=False).returncode != 0


def test_a_hardened_pod_is_admitted(cluster: Cluster):
    """The refusal above is the policy, not a broken API server: a pod hardened like the
    project's is accepted (server-side dry run: nothing is created)."""
    image = cluster.image_digest("techcommerce/product-api")
    manifest = pod_manifest("e2e-hardened", image, HARDENED)
    proc = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_project_pod_was_admitted_and_runs(cluster: Cluster):
    pods = cluster.get("pods")["items"]
    names = {pod["metadata"]["labels"].get("app.kubernetes.io/name") for pod in pods}
    assert {*SERVICES, "postgres", "migrate"} <= names
    for pod in pods:
        phase = pod["status"]["phase"]
        assert phase in ("Running", "Succeeded"), (pod["metadata"]["name"], phase)
    # No controller was refused a pod: the ReplicaSets, StatefulSet and Job created every pod.
    events = cluster.get("events", "--field-selector", "reason=FailedCreate")["items"]
    assert [e["message"] for e in events] == []
