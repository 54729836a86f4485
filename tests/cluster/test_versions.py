"""hack/versions.env: every version the bootstrap installs is pinned, the plan uses exactly those,
and the copies elsewhere in the repository (Go validator, monitoring images, staging overlay,
tekton/README.md) agree with it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cluster.cluster_lib import REPO, Plan, pod_spec, yaml_docs
from cluster.plan_checks import check_urls_pinned
from support.kustomize import kustomize_objects

SEMVER = re.compile(r"^v\d+\.\d+\.\d+$")
EXPECTED_KEYS = {
    "KIND_VERSION",
    "KIND_NODE_IMAGE",
    "REGISTRY_IMAGE",
    "TEKTON_PIPELINES_VERSION",
    "TEKTON_TRIGGERS_VERSION",
    "TEKTON_DASHBOARD_VERSION",
    "MANUAL_APPROVAL_GATE_VERSION",
    "TKN_VERSION",
    "METRICS_SERVER_VERSION",
    "KUBE_STATE_METRICS_VERSION",
    "NODE_EXPORTER_VERSION",
    "TECHCOMMERCE_IMAGE_TAG",
    "KANIKO_VERSION",
    "TRIVY_VERSION",
    "KUBECTL_VERSION",
    # the e2e cluster (hack/e2e); tests/cluster_e2e/test_shared_path.py checks they agree
    "E2E_GO_TOOLCHAIN",
    "E2E_KUBERNETES_VERSION",
    "E2E_ETCD_VERSION",
    "E2E_COREDNS_VERSION",
    "E2E_METRICS_SERVER_VERSION",
    "E2E_KUBE_ROUTER_VERSION",
    "E2E_LOCAL_PATH_PROVISIONER_VERSION",
    "E2E_PROMETHEUS_VERSION",
    "E2E_ALERTMANAGER_VERSION",
    "E2E_TEKTON_DASHBOARD_VERSION",
}


def go_mod_version(module: str) -> str:
    text = (REPO / "hack/tools/tekton-validate/go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
    assert match, f"{module} not required in hack/tools/tekton-validate/go.mod"
    return match.group(1)


def test_every_component_is_pinned(versions: dict[str, str]):
    assert set(versions) == EXPECTED_KEYS
    for key, value in versions.items():
        assert "latest" not in value, key
        if key.endswith("_VERSION"):
            assert SEMVER.match(value), f"{key}={value} is not an exact vX.Y.Z"
    assert re.fullmatch(
        r"kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", versions["KIND_NODE_IMAGE"]
    )
    assert re.fullmatch(r"registry:\d+\.\d+\.\d+", versions["REGISTRY_IMAGE"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["TECHCOMMERCE_IMAGE_TAG"])


@pytest.mark.parametrize(
    ("image", "key", "tag"),
    [
        ("gcr.io/kaniko-project/executor", "KANIKO_VERSION", "{version}-debug"),
        ("aquasec/trivy", "TRIVY_VERSION", "{bare}"),
        ("alpine/k8s", "KUBECTL_VERSION", "{bare}"),
    ],
)
def test_the_tasks_pin_the_step_image_versions_e2e_builds(
    versions: dict[str, str], image: str, key: str, tag: str
):
    """make e2e builds kaniko, trivy and kubectl at these versions as the Tasks' step images, so
    every mention of the upstream image under tekton/ must carry that very release (one version,
    two places)."""
    pinned = {
        found
        for path in (REPO / "tekton").rglob("*.yaml")
        for found in re.findall(rf"{re.escape(image)}:(\S+)", path.read_text())
    }
    version = versions[key]
    assert pinned == {tag.format(version=version, bare=version.removeprefix("v"))}


def test_versions_file_is_plain_key_value_lines():
    """bash sources it through load_versions and this test parses it: no quotes, no spaces, no
    shell expansion that one of the two would read differently."""
    for raw in (REPO / "hack/versions.env").read_text().splitlines():
        if raw and not raw.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[A-Za-z0-9_./:@-]+", raw), raw


def test_tekton_versions_equal_the_go_validator_modules(versions: dict[str, str]):
    assert versions["TEKTON_PIPELINES_VERSION"] == go_mod_version("github.com/tektoncd/pipeline")
    assert versions["TEKTON_TRIGGERS_VERSION"] == go_mod_version("github.com/tektoncd/triggers")


def test_kind_node_kubernetes_minor_matches_the_validator_client(versions: dict[str, str]):
    """k8s.io/api v0.35.x is the Kubernetes 1.35 API: the node image runs the same minor."""
    api = go_mod_version("k8s.io/api")
    node = re.search(r":v(\d+)\.(\d+)\.", versions["KIND_NODE_IMAGE"])
    assert node
    assert api.split(".")[1] == node.group(2), (api, versions["KIND_NODE_IMAGE"])


def test_tekton_readme_names_the_same_versions(versions: dict[str, str]):
    readme = REPO / "tekton/README.md"
    assert readme.exists()
    text = readme.read_text()
    found = 0
    for word, key in (
        ("Pipelines", "TEKTON_PIPELINES_VERSION"),
        ("Triggers", "TEKTON_TRIGGERS_VERSION"),
    ):
        for match in re.finditer(rf"{word}\W{{1,3}}(v\d+\.\d+\.\d+)", text):
            found += 1
            assert match.group(1) == versions[key], f"tekton/README.md: {match.group(0)}"
    assert found >= 2


def test_monitoring_images_equal_the_pinned_exporters(versions: dict[str, str]):
    images = set()
    for obj in kustomize_objects(REPO / "monitoring/kubernetes"):
        pod = pod_spec(obj)
        if pod:
            images |= {c["image"] for c in pod["containers"]}
    ksm = {i for i in images if "/kube-state-metrics:" in i}
    node = {i for i in images if "/node-exporter:" in i}
    assert ksm and node, images
    assert {i.rsplit(":", 1)[1] for i in ksm} == {versions["KUBE_STATE_METRICS_VERSION"]}
    assert {i.rsplit(":", 1)[1] for i in node} == {versions["NODE_EXPORTER_VERSION"]}


def test_bootstrap_image_tag_equals_the_staging_overlay_tag(versions: dict[str, str]):
    overlay = next(yaml_docs(REPO / "manifests/overlays/staging/kustomization.yaml"))
    wrapper = next(yaml_docs(REPO / "manifests/overlays/kind/kustomization.yaml"))
    tag = versions["TECHCOMMERCE_IMAGE_TAG"]
    assert {i["newTag"] for i in overlay["images"]} == {tag}
    assert {i["newTag"] for i in wrapper["images"]} == {tag}
    assert {i["name"] for i in wrapper["images"]} == {i["name"] for i in overlay["images"]}


def _kustomization_urls() -> list[str]:
    urls = []
    for path in sorted((REPO / "hack/cluster").glob("*/kustomization.yaml")):
        doc = next(yaml_docs(path))
        urls += [r for r in doc.get("resources", []) if "://" in r]
    return urls


def test_every_url_is_https_pinned_and_from_versions_env(plan: Plan, versions: dict[str, str]):
    urls = plan.urls() + _kustomization_urls()
    assert len(urls) == 6, urls  # 4 release manifests + 2 wrapped by hack/cluster kustomizations
    check_urls_pinned(urls, versions)
    expected = {
        "TEKTON_PIPELINES_VERSION": "/tekton-releases/pipeline/previous/{}/release.yaml",
        "TEKTON_TRIGGERS_VERSION": "/tekton-releases/triggers/previous/{}/interceptors.yaml",
        "TEKTON_DASHBOARD_VERSION": "/tekton-releases/dashboard/previous/{}/release.yaml",
        "MANUAL_APPROVAL_GATE_VERSION": (
            "/manual-approval-gate/releases/download/{}/release-kubernetes.yaml"
        ),
        "METRICS_SERVER_VERSION": "/metrics-server/releases/download/{}/components.yaml",
    }
    for key, pattern in expected.items():
        wanted = pattern.format(versions[key])
        assert any(u.endswith(wanted) for u in urls), f"no URL ends with {wanted}"


def test_images_the_plan_starts_are_the_pinned_ones(plan: Plan, versions: dict[str, str]):
    assert plan.first("kind", "create", "cluster").option("--image") == versions["KIND_NODE_IMAGE"]
    assert plan.first("docker", "run").words[-1] == versions["REGISTRY_IMAGE"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("TEKTON_PIPELINES_VERSION=latest", "must be pinned"),
        ("TEKTON_PIPELINES_VERSION=", "is empty"),
        ("tekton=v1.0.0", "bad key"),
    ],
)
def test_scripts_refuse_an_unpinned_versions_file(tmp_path: Path, line: str, message: str):
    """load_versions (hack/cluster/common.sh) is what the scripts use; it stops on an unpinned or
    malformed entry before any command runs."""
    bad = tmp_path / "versions.env"
    bad.write_text((REPO / "hack/versions.env").read_text() + line + "\n")
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'source hack/cluster/common.sh && load_versions "$1" && echo loaded',
            "_",
            str(bad),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "loaded" not in proc.stdout
