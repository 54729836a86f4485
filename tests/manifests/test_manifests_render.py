"""Each overlay renders, holds the objects of the platform contract, and stays per-environment."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from manifests.manifest_lib import MANIFESTS, REPO, SERVICES, Rendered, kustomize, overlay_names

NAMESPACES = {"staging": "techcommerce-staging", "production": "techcommerce-production"}
# Per environment: Deployment replicas (None = owned by the HPA) and product-api HPA bounds.
SIZES = {
    "staging": {"frontend": 2, "order-api": 1, "hpa": (2, 4)},
    "production": {"frontend": 3, "order-api": 3, "hpa": (3, 10)},
}


def test_the_overlays_are_staging_and_production() -> None:
    assert overlay_names() == ["production", "staging"]


def test_every_namespaced_object_lands_in_the_overlay_namespace(rendered: Rendered) -> None:
    namespace = NAMESPACES[rendered.name]
    ns = rendered.get("Namespace", namespace)
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    for obj in rendered.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]["name"]


def test_contract_objects_exist_with_their_names(rendered: Rendered) -> None:
    for name in SERVICES:
        rendered.get("Deployment", name)
        rendered.get("Service", name)
        rendered.get("ServiceAccount", name)
        rendered.get("PodDisruptionBudget", name)
    sts = rendered.get("StatefulSet", "postgres")
    assert sts["spec"]["serviceName"] == "postgres"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    postgres = rendered.get("Service", "postgres")
    assert postgres["spec"]["clusterIP"] == "None"
    assert [p["port"] for p in postgres["spec"]["ports"]] == [5432]
    job = rendered.get("Job", "migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "db.migrate",
    ]


def test_service_types_and_ports_follow_the_contract(rendered: Rendered) -> None:
    frontend = rendered.get("Service", "frontend")
    assert frontend["spec"]["type"] == "LoadBalancer"
    for name in ("product-api", "order-api"):
        service = rendered.get("Service", name)
        assert service["spec"]["type"] == "ClusterIP"
        assert [p["port"] for p in service["spec"]["ports"]] == [SERVICES[name][1]]


def test_labels_and_scrape_annotations(rendered: Rendered) -> None:
    for workload, template in rendered.pod_templates():
        name = workload["metadata"]["name"]
        for labels in (workload["metadata"]["labels"], template["metadata"]["labels"]):
            assert labels["app.kubernetes.io/name"] == name
            assert labels["app.kubernetes.io/part-of"] == "techcommerce"
            assert labels["app.kubernetes.io/environment"] == rendered.name
        annotations = template["metadata"].get("annotations", {})
        if name in SERVICES:
            assert annotations == {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(SERVICES[name][1]),
                "prometheus.io/path": "/metrics",
            }
        else:
            assert "prometheus.io/scrape" not in annotations, f"{name} serves no /metrics"


def test_images_are_the_contract_names_with_a_tag(rendered: Rendered) -> None:
    images = {
        workload["metadata"]["name"]: container["image"]
        for workload, _, container in rendered.containers()
    }
    for name in SERVICES:
        assert images[name] == f"techcommerce/{name}:0.1.0"
    # The migration Job runs the product-api image: the pipeline's digest pin covers both.
    assert images["migrate"] == images["product-api"]
    assert images["postgres"].startswith("postgres:15.")


def test_replicas_and_autoscaling_per_environment(rendered: Rendered) -> None:
    sizes = SIZES[rendered.name]
    assert rendered.get("Deployment", "frontend")["spec"]["replicas"] == sizes["frontend"]
    assert rendered.get("Deployment", "order-api")["spec"]["replicas"] == sizes["order-api"]
    hpa = rendered.get("HorizontalPodAutoscaler", "product-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == sizes["hpa"]
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60


def test_no_overlay_sets_replicas_of_an_autoscaled_workload(rendered: Rendered) -> None:
    targets = {
        (h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"])
        for h in rendered.of_kind("HorizontalPodAutoscaler")
    }
    assert targets == {("Deployment", "product-api")}
    for kind, name in targets:
        target = rendered.get(kind, name)  # the HPA's target exists
        assert "replicas" not in target["spec"], f"{kind}/{name} sets replicas: it fights the HPA"
    kustomization = yaml.safe_load(
        (MANIFESTS / "overlays" / rendered.name / "kustomization.yaml").read_text()
    )
    assert {r["name"] for r in kustomization.get("replicas", [])}.isdisjoint(
        {name for _, name in targets}
    )


# hack/gen-secrets.sh's files (OVERLAY/secrets/<name>.env); each is the Secret of the same name,
# except postgres.env, which is postgres-credentials.
SECRET_FILES = (
    "postgres",
    "product-api-database",
    "order-api-database",
    "order-api-token",
    "admin-token",
    "frontend-session",
)


def test_environments_differ_in_config_and_secrets(rendered_all: dict[str, Rendered]) -> None:
    staging, production = rendered_all["staging"], rendered_all["production"]
    assert (
        staging.config_data("ConfigMap", _generated(staging, "ConfigMap", "frontend"))["LOG_LEVEL"]
        == "DEBUG"
    )
    assert (
        production.config_data("ConfigMap", _generated(production, "ConfigMap", "frontend"))[
            "LOG_LEVEL"
        ]
        == "INFO"
    )
    for secret in ("postgres-credentials", *SECRET_FILES[1:]):
        a = staging.config_data("Secret", _generated(staging, "Secret", secret))
        b = production.config_data("Secret", _generated(production, "Secret", secret))
        assert a.keys() == b.keys()
        secret_keys = [k for k in a if k not in ("POSTGRES_USER", "POSTGRES_DB")]
        assert secret_keys
        for key in secret_keys:
            assert a[key] != b[key], f"{secret}/{key} is the same in staging and production"
            assert len(a[key]) >= 32


def _generated(rendered: Rendered, kind: str, prefix: str) -> str:
    names = [
        o["metadata"]["name"]
        for o in rendered.of_kind(kind)
        if o["metadata"]["name"].rsplit("-", 1)[0] == prefix
    ]
    assert len(names) == 1, f"{kind} {prefix}-<hash> not found: {names}"
    return names[0]


def test_no_secret_value_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "manifests"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "git ls-files found nothing under manifests/"
    assert not [p for p in tracked if "/secrets/" in p or p.endswith(".env")]
    for path in tracked:
        if path.endswith((".yaml", ".yml")):
            for obj in yaml.safe_load_all((REPO / path).read_text()):
                if obj and obj.get("kind") == "Secret":
                    pytest.fail(f"{path} commits a Secret object")


def test_gen_secrets_keeps_existing_values(manifests_copy, tmp_path) -> None:
    overlay = manifests_copy / "overlays" / "staging"
    before = {p.name: p.read_text() for p in (overlay / "secrets").iterdir()}
    assert set(before) == {f"{name}.env" for name in SECRET_FILES}
    assert all((overlay / "secrets" / n).stat().st_mode & 0o077 == 0 for n in before)
    subprocess.run(
        [str(REPO / "hack" / "gen-secrets.sh"), str(overlay)], check=True, capture_output=True
    )
    after = {p.name: p.read_text() for p in (overlay / "secrets").iterdir()}
    assert after == before


def test_gen_secrets_completes_an_overlay_made_before_the_database_roles(manifests_copy) -> None:
    """An overlay whose secrets predate the per-service database roles keeps its values and
    gains the two role passwords, so an existing deployment upgrades with one re-run."""
    secrets = manifests_copy / "overlays" / "staging" / "secrets"
    for name in ("product-api-database.env", "order-api-database.env"):
        (secrets / name).unlink()
    kept = {p.name: p.read_text() for p in secrets.iterdir()}
    subprocess.run(
        [str(REPO / "hack" / "gen-secrets.sh"), str(secrets.parent)],
        check=True,
        capture_output=True,
    )
    after = {p.name: p.read_text() for p in secrets.iterdir()}
    assert {k: after[k] for k in kept} == kept
    assert after["order-api-database.env"].startswith("ORDER_API_DB_PASSWORD=")
    assert after["product-api-database.env"].startswith("PRODUCT_API_DB_PASSWORD=")


def test_an_overlay_without_generated_secrets_does_not_render(tmp_path) -> None:
    """The secret files are not in git: rendering without hack/gen-secrets.sh must fail loudly."""
    import shutil

    copy = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, copy, ignore=shutil.ignore_patterns("secrets"))
    result = subprocess.run(
        ["kubectl", "kustomize", str(copy / "overlays" / "staging")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "secrets/" in result.stderr


def test_digest_pin_as_the_deploy_pipeline_sets_it(manifests_copy, tmp_path) -> None:
    """`kustomize edit set image NAME=REGISTRY/NAME@sha256:...` writes newName + digest entries."""
    import shutil

    copy = tmp_path / "manifests"
    shutil.copytree(manifests_copy, copy)
    kustomization_path = copy / "overlays" / "production" / "kustomization.yaml"
    kustomization = yaml.safe_load(kustomization_path.read_text())
    digest = "sha256:" + "ab" * 32
    for image in kustomization["images"]:
        image.pop("newTag", None)
        image["newName"] = f"registry.test/{image['name']}"
        image["digest"] = digest
    kustomization_path.write_text(yaml.safe_dump(kustomization))
    objects = [o for o in yaml.safe_load_all(kustomize(copy / "overlays" / "production")) if o]
    images = {
        c["image"]
        for o in objects
        if o["kind"] in ("Deployment", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"registry.test/techcommerce/{n}@{digest}" for n in SERVICES}
