"""Each overlay renders, holds the objects of the platform contract, and stays per-environment."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifests.manifest_lib import (
    ENVIRONMENTS,
    MANIFESTS,
    REPO,
    SERVICES,
    Rendered,
    clean_manifests,
    deploy_names,
    gen_secrets,
    kustomize,
    overlay_names,
    run_kustomize,
    secrets_of,
)
from support.kustomize import mappings

NAMESPACES = {"staging": "techcommerce-staging", "production": "techcommerce-production"}
# Per environment: Deployment replicas (None = owned by the HPA) and product-api HPA bounds.
SIZES = {
    "staging": {"frontend": 2, "order-api": 1, "hpa": (2, 4)},
    "production": {"frontend": 3, "order-api": 3, "hpa": (3, 10)},
}


def test_the_environments_are_staging_and_production_and_every_overlay_has_a_deploy() -> None:
    assert set(ENVIRONMENTS) == {"production", "staging"} <= set(overlay_names())
    assert deploy_names() == overlay_names()
    for name in overlay_names():
        assert secrets_of(name) in ENVIRONMENTS
        assert yaml.safe_load((MANIFESTS / "deploy" / name / "kustomization.yaml").read_text())[
            "resources"
        ] == [f"../../overlays/{name}"]


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


# hack/gen-secrets.sh's files (.cluster/secrets/ENV/<name>.env); each is the Secret of the same
# name, except postgres.env, which is postgres-credentials.
SECRET_FILES = (
    "postgres",
    "product-api-database",
    "order-api-database",
    "order-api-token",
    "admin-token",
    "frontend-session",
)
SECRET_NAMES = ("postgres-credentials", *SECRET_FILES[1:])


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
    for secret in SECRET_NAMES:
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


def _secret_dir(manifests: Path, environment: str) -> Path:
    return manifests.parent / ".cluster" / "secrets" / environment


def _secret_refs(objects: list[dict[str, Any]]) -> set[str]:
    """Every Secret name a rendered object refers to (env, envFrom, volumes)."""
    found: set[str] = set()
    for node in mappings(objects):
        for key, value in node.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
                found.add(value["name"])
            elif key == "secret" and isinstance(value, dict) and "secretName" in value:
                found.add(value["secretName"])
    return found


@pytest.fixture
def clean(tmp_path) -> Path:
    return clean_manifests(tmp_path)


@pytest.mark.parametrize("overlay", overlay_names())
def test_an_overlay_renders_in_a_clean_checkout_without_generated_files(clean, overlay):
    """`kubectl kustomize manifests/overlays/ENV` works on a fresh clone: the overlay is the
    application, which names its Secrets and holds none; only the deploy needs them, and it
    says where they are missing."""
    assert not (clean.parent / ".cluster").exists()
    objects = [o for o in yaml.safe_load_all(kustomize(clean / "overlays" / overlay)) if o]
    assert not [o for o in objects if o["kind"] == "Secret"]
    assert _secret_refs(objects) == set(SECRET_NAMES)
    deploy = run_kustomize(clean / "deploy" / overlay)
    assert deploy.returncode != 0
    assert f".cluster/secrets/{secrets_of(overlay)}" in deploy.stderr


@pytest.mark.parametrize("name", overlay_names())
def test_the_deploy_renders_once_gen_secrets_has_run(clean, name):
    """After hack/gen-secrets.sh, manifests/deploy/NAME is the overlay plus its environment's six
    Secrets, each named with the hash of its content, and every reference points at one."""
    environment = secrets_of(name)
    overlay = [o for o in yaml.safe_load_all(kustomize(clean / "overlays" / name)) if o]
    gen_secrets(clean / "overlays" / environment)
    secrets = _secret_dir(clean, environment)
    assert sorted(p.name for p in secrets.iterdir()) == sorted(
        ["kustomization.yaml", *(f"{n}.env" for n in SECRET_FILES)]
    )
    assert all((secrets / f"{n}.env").stat().st_mode & 0o077 == 0 for n in SECRET_FILES)
    assert secrets.stat().st_mode & 0o077 == 0
    deployed = [o for o in yaml.safe_load_all(kustomize(clean / "deploy" / name)) if o]
    generated = {o["metadata"]["name"]: o for o in deployed if o["kind"] == "Secret"}
    assert sorted(n.rsplit("-", 1)[0] for n in generated) == sorted(SECRET_NAMES)
    assert _secret_refs(deployed) == set(generated)
    for secret in generated.values():
        assert secret["metadata"]["namespace"] == NAMESPACES[environment]
        assert secret["metadata"]["labels"]["app.kubernetes.io/environment"] == environment
    # Apart from the Secrets and the hashed names, the deploy is the overlay unchanged.
    without_secrets = [o for o in deployed if o["kind"] != "Secret"]
    assert len(without_secrets) == len(overlay)
    assert {(o["kind"], o["metadata"]["name"]) for o in without_secrets} == {
        (o["kind"], o["metadata"]["name"]) for o in overlay
    }


def test_a_changed_secret_rolls_exactly_the_workloads_that_use_it(clean):
    """Rotation: a new value gives the Secret a new name, so the pod templates that use it
    change (kubectl apply rolls them) and the others stay as they are."""
    gen_secrets(clean / "overlays" / "staging")

    def templates() -> dict[str, dict[str, Any]]:
        text = kustomize(clean / "deploy" / "staging")
        return {
            o["metadata"]["name"]: o["spec"]["template"]
            for o in yaml.safe_load_all(text)
            if o and o["kind"] in ("Deployment", "StatefulSet", "Job")
        }

    before = templates()
    (_secret_dir(clean, "staging") / "admin-token.env").write_text("ADMIN_TOKEN=" + "c" * 48 + "\n")
    after = templates()
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["order-api", "product-api"]


def test_gen_secrets_keeps_existing_values(manifests_copy) -> None:
    secrets = _secret_dir(manifests_copy, "staging")
    before = {p.name: p.read_text() for p in secrets.iterdir()}
    assert set(before) == {"kustomization.yaml", *(f"{name}.env" for name in SECRET_FILES)}
    gen_secrets(manifests_copy / "overlays" / "staging")
    after = {p.name: p.read_text() for p in secrets.iterdir()}
    assert after == before


def test_gen_secrets_completes_an_environment_made_before_the_database_roles(clean) -> None:
    """Secrets that predate the per-service database roles keep their values and gain the two
    role passwords, so an existing deployment upgrades with one re-run."""
    gen_secrets(clean / "overlays" / "staging")
    secrets = _secret_dir(clean, "staging")
    for name in ("product-api-database.env", "order-api-database.env"):
        (secrets / name).unlink()
    kept = {p.name: p.read_text() for p in secrets.glob("*.env")}
    gen_secrets(clean / "overlays" / "staging")
    after = {p.name: p.read_text() for p in secrets.glob("*.env")}
    assert {k: after[k] for k in kept} == kept
    assert after["order-api-database.env"].startswith("ORDER_API_DB_PASSWORD=")
    assert after["product-api-database.env"].startswith("PRODUCT_API_DB_PASSWORD=")


def test_gen_secrets_moves_files_from_the_old_overlay_location_keeping_their_values(clean):
    """Before .cluster/secrets/ENV, the files were in OVERLAY/secrets/: a re-run moves them to
    the one location (PostgreSQL keeps its first password, so the values must survive)."""
    old = clean / "overlays" / "staging" / "secrets"
    old.mkdir()
    (old / "postgres.env").write_text(
        "POSTGRES_USER=techcommerce\nPOSTGRES_PASSWORD=" + "a" * 48 + "\nPOSTGRES_DB=techcommerce\n"
    )
    gen_secrets(clean / "overlays" / "staging")
    assert not old.exists()
    moved = (_secret_dir(clean, "staging") / "postgres.env").read_text()
    assert "POSTGRES_PASSWORD=" + "a" * 48 in moved


def test_gen_secrets_refuses_a_directory_that_is_not_an_overlay(tmp_path):
    for bad in (tmp_path, REPO / "manifests" / "base"):
        result = subprocess.run(
            [str(REPO / "hack" / "gen-secrets.sh"), str(bad)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, bad
        assert "gen-secrets:" in result.stderr
    assert not (tmp_path / ".cluster").exists()


def test_digest_pin_as_the_deploy_pipeline_sets_it(clean) -> None:
    """`kustomize edit set image NAME=REGISTRY/NAME@sha256:...` on the overlay writes newName +
    digest entries, and the deploy (overlay + Secrets) carries them."""
    copy = clean
    gen_secrets(copy / "overlays" / "production")
    kustomization_path = copy / "overlays" / "production" / "kustomization.yaml"
    kustomization = yaml.safe_load(kustomization_path.read_text())
    digest = "sha256:" + "ab" * 32
    for image in kustomization["images"]:
        image.pop("newTag", None)
        image["newName"] = f"registry.test/{image['name']}"
        image["digest"] = digest
    kustomization_path.write_text(yaml.safe_dump(kustomization))
    objects = [o for o in yaml.safe_load_all(kustomize(copy / "deploy" / "production")) if o]
    images = {
        c["image"]
        for o in objects
        if o["kind"] in ("Deployment", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"registry.test/techcommerce/{n}@{digest}" for n in SERVICES}
