"""Bring-up and deploy: the node runs the pinned Kubernetes, the staging overlay is deployed from
the in-cluster registry by digest, the migration Job completed, PostgreSQL has its volume, and the
three services are Ready with the replicas the overlay asks for."""

from __future__ import annotations

import json
import subprocess

from cluster_e2e.kube import NAMESPACE, REPO, SERVICES, Cluster


def pinned(key: str) -> str:
    for line in (REPO / "hack/versions.env").read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{key} missing from hack/versions.env")


def test_the_node_runs_the_pinned_kubernetes(cluster: Cluster):
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == pinned("E2E_KUBERNETES_VERSION")
    # The same Kubernetes as the kind node image users get.
    assert f":{pinned('E2E_KUBERNETES_VERSION')}@" in pinned("KIND_NODE_IMAGE")
    node = cluster.get("nodes", namespace="default")["items"][0]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == pinned("E2E_KUBERNETES_VERSION")
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"


def test_the_migration_job_completed(cluster: Cluster):
    job = cluster.get("job", "migrate")
    assert job["status"].get("succeeded") == 1
    assert {c["type"]: c["status"] for c in job["status"]["conditions"]}.get("Complete") == "True"


def test_postgres_runs_on_its_bound_volume(cluster: Cluster):
    """Its claim is provisioned as on kind: by the default StorageClass "standard"
    (local-path-provisioner), a local volume under the run directory."""
    claim = cluster.get("pvc", "data-postgres-0")
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["storageClassName"] == "standard"
    volume = cluster.get("pv", claim["spec"]["volumeName"], namespace="default")
    assert volume["spec"]["local"]["path"].startswith(str(cluster.run_dir))
    cluster.wait("--for=condition=Ready", "pod/postgres-0", timeout=60)
    assert cluster.sql("SELECT 1") == [["1"]]


def test_the_three_services_are_ready_from_the_registry_by_digest(cluster: Cluster):
    rendered = cluster.kubectl("kustomize", str(REPO / "manifests/overlays/staging")).stdout
    for name in SERVICES:
        deployment = cluster.get("deployment", name)
        spec_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert spec_image == cluster.image_digest(f"techcommerce/{name}")
        status = deployment["status"]
        assert status.get("readyReplicas", 0) >= 1
        assert status.get("readyReplicas") == status.get("replicas"), status
        assert f"name: {name}" in rendered
        for pod in cluster.pods(f"app.kubernetes.io/name={name}"):
            for container in pod["status"]["containerStatuses"]:
                # the image the kubelet actually pulled is the pushed digest
                assert container["imageID"].endswith(spec_image.split("@")[1]), container


def test_services_resolve_each_other_through_cluster_dns(cluster: Cluster):
    pod = cluster.running_pod("frontend")
    proc = cluster.python_in(
        pod,
        "import socket; print(socket.gethostbyname('product-api'),"
        " socket.gethostbyname('order-api.techcommerce-staging.svc.cluster.local'))",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        cluster.service_ip("product-api"),
        cluster.service_ip("order-api"),
    ]


def test_the_shop_answers_through_its_service(cluster: Cluster, frontend_url: str):
    import urllib.request

    with urllib.request.urlopen(frontend_url + "/health", timeout=10) as response:
        assert response.status == 200
    assert NAMESPACE == "techcommerce-staging"


def test_the_git_server_holds_the_repository_and_takes_pushes(cluster: Cluster, tmp_path):
    """hack/e2e/cluster-up.sh serves a bare clone of this repository on the node's address (for
    the CI/CD pipelines): it holds the commit the run started from and accepts a pushed branch."""
    remote = f"git://{cluster.node_address}/techcommerce.git"

    def git(*args: str, cwd=None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    served = dict(reversed(line.split("\t")) for line in git("ls-remote", remote).splitlines())
    assert "refs/heads/main" in served
    git("clone", "--quiet", remote, str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    head = git("rev-parse", "HEAD", cwd=clone).strip()
    assert head == served["HEAD"]
    git(
        "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid",
        "commit", "--quiet", "--allow-empty", "-m", "e2e: a pushed commit", cwd=clone,
    )  # fmt: skip
    pushed = git("rev-parse", "HEAD", cwd=clone).strip()
    git("push", "--quiet", remote, "HEAD:refs/heads/e2e-push-check", cwd=clone)
    after = dict(reversed(line.split("\t")) for line in git("ls-remote", remote).splitlines())
    assert after["refs/heads/e2e-push-check"] == pushed
    git("push", "--quiet", remote, ":refs/heads/e2e-push-check", cwd=clone)
