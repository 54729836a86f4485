"""tekton/scripts/deploy.sh in simulation mode against the real overlays, and its release
history: deploy, partial deploy, rollback (previous, by revision, undo-failed)."""

from __future__ import annotations

import base64
import functools
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from tekton.tekton_helpers import ROOT, SCRIPTS, TEKTON, TOOLS, run

SERVICES = ("product-api", "order-api", "frontend")


def ref(service: str, digit: str) -> str:
    return f"registry.example.com/shop/techcommerce/{service}@sha256:{digit * 64}"


def release(digit: str) -> list[str]:
    """An image reference of every service, all pinned by the digest made of `digit`."""
    return [ref(s, digit) for s in SERVICES]


@pytest.fixture
def source(tmp_path) -> Path:
    """A checkout-like directory: a copy of manifests/ (no generated secrets in it)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "manifests", src / "manifests", ignore=shutil.ignore_patterns("secrets"))
    return src


@pytest.fixture
def secrets(tmp_path, source) -> dict[str, Path]:
    """Per environment, what hack/gen-secrets.sh writes in .cluster/secrets/ENV, moved out of
    the checkout into a separate directory (the overlay-secrets workspace), as in the cluster."""
    out = {}
    for env in ("staging", "production"):
        run([ROOT / "hack" / "gen-secrets.sh", source / "manifests" / "overlays" / env], check=True)
        out[env] = tmp_path / f"secrets-{env}"
        shutil.move(source / ".cluster" / "secrets" / env, out[env])
    return out


def deploy(source: Path, action: str, *args: str, **env: str):
    return run(
        ["bash", SCRIPTS / "deploy.sh", action, *args],
        env={
            "SOURCE_DIR": str(source),
            "KUBERNETES_SERVICE_HOST": "",
            # where hack/dev/deps/tekton.sh puts kustomize on a machine without kubectl
            "PATH": f"{TOOLS / 'bin'}:{os.environ['PATH']}",
            **env,
        },
    )


@pytest.fixture
def deploy_to(source, secrets):
    """deploy.sh ACTION (deploy unless named) of IMAGES into ENVIRONMENT, with that
    environment's Secrets in the overlay-secrets workspace, as the pipeline runs it."""

    def run_deploy(environment: str, *images: str, action: str = "deploy", **env: str):
        return deploy(
            source,
            action,
            *images,
            ENVIRONMENT=environment,
            OVERLAY_SECRETS_DIR=str(secrets[environment]),
            **env,
        )

    return run_deploy


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_simulated_deploy_renders_the_real_overlay_with_digests(
    deploy_to, source, secrets, tmp_path, environment
):
    results = {n: tmp_path / n for n in ("mode", "smoke", "revision")}
    images = release("a")
    result = deploy_to(
        environment,
        *images,
        STATE_FILE=str(tmp_path / "state.json"),
        COMMIT="0123456",
        RESULT_MODE=str(results["mode"]),
        RESULT_SMOKE_TEST=str(results["smoke"]),
        RESULT_REVISION=str(results["revision"]),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    namespace = f"techcommerce-{environment}"
    assert f"SIMULATED: nothing was applied to {namespace}" in out
    assert "no credentials" in out
    for image in images:
        service = image.split("/")[-1].split("@")[0]
        assert f"kustomize edit set image techcommerce/{service}={image}" in out
        assert f"image: {image}" in out
        assert f"kubectl rollout status deployment/{service} -n {namespace}" in out
        assert f"services/http:{service}:http/proxy/ready" in out
    assert "kubectl apply --dry-run=server -f" in out
    # the finished migration Job goes first: the server's dry run refuses its changed template
    assert out.index(f"kubectl delete job migrate -n {namespace}") < out.index(
        "kubectl apply --dry-run=server -f"
    )
    assert f"kubectl wait --for=condition=complete job/migrate -n {namespace}" in out
    # Every TechCommerce image in the rendered output is pinned by digest.
    rendered = (source / ".deploy" / environment / "rendered.yaml").read_text()
    tc_images = [
        line for line in rendered.splitlines() if "image: " in line and "techcommerce/" in line
    ]
    assert tc_images
    assert all("@sha256:" in line for line in tc_images)
    assert f"namespace: {namespace}" in rendered
    # Secrets: values are in the rendered file but never printed.
    assert "<redacted>" in out
    for env_file in secrets[environment].glob("*.env"):
        for line in env_file.read_text().splitlines():
            value = line.split("=", 1)[1]
            if value != "techcommerce":
                assert value not in out
                assert base64.b64encode(value.encode()).decode()[:40] not in out
    assert results["mode"].read_text() == "simulated"
    assert results["smoke"].read_text() == "skipped"
    assert results["revision"].read_text() == "1"
    [entry] = json.loads((tmp_path / "state.json").read_text())
    assert entry["images"] == dict(zip(SERVICES, images, strict=True))
    assert entry["status"] == "succeeded"
    assert entry["commit"] == "0123456"


def test_overlay_checkout_stays_untouched(deploy_to, source):
    kustomization = source / "manifests" / "overlays" / "staging" / "kustomization.yaml"
    before = kustomization.read_text()
    result = deploy_to("staging", *release("b"))
    assert result.returncode == 0, result.stderr
    assert kustomization.read_text() == before


def test_first_deploy_of_some_services_only_is_refused(deploy_to, tmp_path):
    result = deploy_to(
        "staging", ref("product-api", "a"), STATE_FILE=str(tmp_path / "empty-history.json")
    )
    assert result.returncode == 1
    assert "not pinned by digest" in result.stderr
    assert "techcommerce/frontend:" in result.stderr


def test_simulation_without_history_warns_about_unpinned_services(deploy_to):
    # In the cluster without credentials nothing recorded can be read: a partial deploy still
    # simulates (and says what it could not check).
    result = deploy_to("staging", ref("product-api", "a"))
    assert result.returncode == 0, result.stderr
    assert "WARNING: not pinned by digest" in result.stderr
    assert "SIMULATED" in result.stdout
    assert f"image: {ref('product-api', 'a')}" in result.stdout


def test_a_missing_secret_file_fails_the_render(deploy_to, secrets):
    (secrets["staging"] / "admin-token.env").unlink()
    result = deploy_to("staging", *release("a"))
    assert result.returncode == 1
    assert "could not render manifests/deploy/staging" in result.stderr
    assert "admin-token.env" in result.stderr


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"ENVIRONMENT": "prod"}, [], "ENVIRONMENT must be staging or production"),
        ({"ENVIRONMENT": "staging"}, ["registry.example.com/techcommerce/frontend:1.0"], "is not"),
        ({"ENVIRONMENT": "staging"}, [ref("cart", "a")], "unknown service"),
        ({"ENVIRONMENT": "staging", "SIMULATE": "maybe"}, [], "SIMULATE must be"),
    ],
)
def test_bad_input_is_refused(source, env, args, message):
    result = deploy(source, "deploy", *args, **env)
    assert result.returncode == 2
    assert message in result.stderr


def test_simulate_false_without_a_cluster_fails(deploy_to):
    result = deploy_to("staging", *release("a"), SIMULATE="false")
    assert result.returncode == 1
    assert "SIMULATE=false but no credentials" in result.stderr


def test_unreachable_cluster_falls_back_to_simulation(deploy_to, tmp_path):
    kubeconfig = tmp_path / "kube"
    kubeconfig.mkdir()
    # A cluster that answers nothing: port 9 on loopback.
    (kubeconfig / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\n"
        "users:\n- name: u\n  user: {token: x}\n"
        "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
        "current-context: x\n"
    )
    result = deploy_to(
        "production", *release("a"), KUBECONFIG_BOUND="true", KUBECONFIG_DIR=str(kubeconfig)
    )
    assert result.returncode == 0, result.stderr
    assert "cannot patch deployments in techcommerce-production" in result.stdout
    assert "SIMULATED" in result.stdout


def test_history_partial_deploys_and_rollbacks(deploy_to, tmp_path):
    state = tmp_path / "state.json"
    production = functools.partial(deploy_to, "production", STATE_FILE=str(state))
    assert production(*release("a")).returncode == 0
    # Only order-api changed: the others keep their recorded digests.
    result = production(ref("order-api", "b"), COMMIT="c2")
    assert result.returncode == 0, result.stderr
    history = json.loads(state.read_text())
    assert [h["revision"] for h in history] == [2, 1]
    assert history[0]["changed"] == ["order-api"]
    assert history[0]["images"]["order-api"] == ref("order-api", "b")
    assert history[0]["images"]["product-api"] == ref("product-api", "a")
    assert f"image: {ref('product-api', 'a')}" in result.stdout

    # undo-failed does nothing while the newest release succeeded.
    result = production(action="rollback", REVISION="undo-failed")
    assert result.returncode == 0
    assert "did not fail: nothing to roll back" in result.stderr
    assert len(json.loads(state.read_text())) == 2

    # previous: back to revision 1.
    result = production(action="rollback")
    assert result.returncode == 0, result.stderr
    history = json.loads(state.read_text())
    assert history[0]["action"] == "rollback"
    assert history[0]["rollbackOf"] == 1
    assert history[0]["changed"] == ["order-api"]
    assert history[0]["images"] == history[2]["images"]
    assert f"image: {ref('order-api', 'a')}" in result.stdout

    # By revision, one service only.
    result = production(action="rollback", REVISION="2", SERVICES="order-api")
    assert result.returncode == 0, result.stderr
    history = json.loads(state.read_text())
    assert history[0]["images"]["order-api"] == ref("order-api", "b")
    assert production(action="rollback", REVISION="99").returncode == 1


def test_undo_failed_restores_the_last_good_release(deploy_to, tmp_path):
    state = tmp_path / "state.json"
    good = dict(zip(SERVICES, release("a"), strict=True))
    bad = {**good, "product-api": ref("product-api", "f")}
    state.write_text(
        json.dumps(
            [
                {"revision": 2, "status": "failed", "images": bad, "commit": "bad"},
                {"revision": 1, "status": "succeeded", "images": good, "commit": "good"},
            ]
        )
    )
    result = deploy_to(
        "production", action="rollback", REVISION="undo-failed", STATE_FILE=str(state)
    )
    assert result.returncode == 0, result.stderr
    assert "rolling back to revision 1: product-api" in result.stderr
    history = json.loads(state.read_text())
    assert history[0]["images"] == good
    assert history[0]["commit"] == "good"


def test_a_deploy_without_the_environments_secrets_says_where_they_come_from(source, secrets):
    """Unbound workspace and nothing in the checkout, or a Secret made from the env files
    alone (no Component to turn them into Secrets): refused before rendering, naming the fix."""
    partial = secrets["staging"]
    (partial / "kustomization.yaml").unlink()
    for env in ({}, {"OVERLAY_SECRETS_DIR": str(partial)}):
        result = deploy(source, "deploy", *release("a"), ENVIRONMENT="staging", **env)
        assert result.returncode == 1
        assert "no Secrets for staging" in result.stderr
        assert "hack/gen-secrets.sh manifests/overlays/staging" in result.stderr
        assert "SIMULATED" not in result.stdout


def test_the_secrets_are_rendered_with_hashed_names_that_the_workloads_use(deploy_to, source):
    """The deploy renders manifests/deploy/ENV: the six generated Secrets, each named with the
    hash of its content, and every workload refers to those names (so a new value rolls it)."""
    result = deploy_to("staging", *release("a"))
    assert result.returncode == 0, result.stderr
    objects = [
        o
        for o in yaml.safe_load_all((source / ".deploy" / "staging" / "rendered.yaml").read_text())
        if o
    ]
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    assert len(names) == 6 and all(n.rsplit("-", 1)[1].isalnum() for n in names)
    refs = {
        value["name"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
        for source_ in [*c.get("envFrom", []), *(e.get("valueFrom", {}) for e in c.get("env", []))]
        for key, value in source_.items()
        if key in ("secretRef", "secretKeyRef")
    }
    assert refs == names


def test_rollback_without_history_fails(deploy_to):
    result = deploy_to("staging", action="rollback")
    assert result.returncode == 1
    assert "no earlier successful release" in result.stderr


# kind -> (apiGroup, resource) for what the overlays render
RESOURCES = {
    "ConfigMap": ("", "configmaps"),
    "Deployment": ("apps", "deployments"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "Job": ("batch", "jobs"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "Secret": ("", "secrets"),
    "Service": ("", "services"),
    "ServiceAccount": ("", "serviceaccounts"),
    "StatefulSet": ("apps", "statefulsets"),
}


def rules_of(name: str) -> dict[tuple[str, str], set[str]]:
    docs = yaml.safe_load_all((TEKTON / "rbac" / "cd.yaml").read_text())
    role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_deployer_role_covers_exactly_what_the_overlays_apply(source, secrets):
    """Least privilege: the deployer may change the kinds a deploy renders (the overlay and its
    Secrets, and nothing else), read what `kubectl rollout status` follows, and call the
    smoke-test proxy."""
    kinds = set()
    for env in ("staging", "production"):
        shutil.copytree(secrets[env], source / ".cluster" / "secrets" / env)
        rendered = run(
            ["kubectl", "kustomize", source / "manifests" / "deploy" / env], check=True
        ).stdout
        kinds |= {d["kind"] for d in yaml.safe_load_all(rendered) if d}
    assert "Namespace" in kinds
    kinds.discard("Namespace")
    assert kinds <= set(RESOURCES), f"kinds the role does not know: {kinds - set(RESOURCES)}"
    rules = rules_of("techcommerce-deployer")
    for kind in kinds:
        verbs = rules.get(RESOURCES[kind], set())
        assert {"get", "create", "patch"} <= verbs, kind
    applied = {RESOURCES[k] for k in kinds}
    read_only = {("apps", "replicasets"), ("", "pods"), ("", "services/proxy")}
    assert set(rules) == applied | read_only
    for key in read_only:
        assert rules[key] <= {"get", "list", "watch"}
    assert "delete" not in set().union(*(rules[k] for k in applied if k != ("batch", "jobs")))
    namespaces = yaml.safe_load_all((TEKTON / "rbac" / "cd.yaml").read_text())
    ns_role = next(
        d for d in namespaces if d["metadata"]["name"] == "techcommerce-deployer-namespaces"
    )
    assert ns_role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": ["techcommerce-staging", "techcommerce-production"],
            "verbs": ["get", "patch"],
        }
    ]
    bindings = [
        d
        for d in yaml.safe_load_all((TEKTON / "rbac" / "cd.yaml").read_text())
        if d["kind"].endswith("Binding") and d["roleRef"]["name"] == "techcommerce-deployer"
    ]
    assert {b["kind"] for b in bindings} == {"RoleBinding"}, "never cluster-wide"
    assert {b["metadata"]["namespace"] for b in bindings} == {
        "techcommerce-staging",
        "techcommerce-production",
    }


def rendered_images(source: Path, environment: str) -> list[str]:
    rendered = (source / ".deploy" / environment / "rendered.yaml").read_text()
    return [line.split("image: ", 1)[1] for line in rendered.splitlines() if "image: " in line]


def test_image_overrides_set_the_overlays_other_images(deploy_to, source, tmp_path):
    """A cluster that mirrors postgres gives it in IMAGE_OVERRIDES (the cluster setting
    image-overrides): by digest or by tag; the services' images stay the release's."""
    digest = "sha256:" + "c" * 64
    mirror = f"10.0.0.5:5000/mirror/postgres@{digest}"
    result = deploy_to(
        "staging", *release("a"), IMAGE_OVERRIDES=f"postgres={mirror}",
        STATE_FILE=str(tmp_path / "state.json"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    images = rendered_images(source, "staging")
    assert mirror in images and not any(i.startswith("postgres:") for i in images)
    assert set(release("a")) <= set(images)

    tagged = "mirror.internal/library/postgres:15.14-bookworm"
    result = deploy_to("staging", *release("b"), IMAGE_OVERRIDES=f"  postgres={tagged}  ")
    assert result.returncode == 0, result.stderr
    assert tagged in rendered_images(source, "staging")

    # without overrides, the overlay's own
    assert deploy_to("staging", *release("b")).returncode == 0
    assert "postgres:15.14-bookworm" in rendered_images(source, "staging")


@pytest.mark.parametrize(
    "overrides",
    [
        "postgres=mirror.internal/postgres",  # no tag, no digest
        "postgres=mirror.internal/postgres:latest;rm",
        "postgres=mirror.internal/postgres:latest",
        "postgres",
        f"techcommerce/order-api=mirror.internal/order-api@sha256:{'d' * 64}",
    ],
)
def test_unclear_image_overrides_are_refused(deploy_to, source, overrides):
    result = deploy_to("staging", *release("a"), IMAGE_OVERRIDES=overrides)
    assert result.returncode == 2, result.stdout
    assert "IMAGE_OVERRIDES" in result.stderr
    assert not (source / ".deploy" / "staging" / "rendered.yaml").exists()


def test_in_cluster_credentials_become_a_kubeconfig_that_keeps_every_flag(deploy_to, tmp_path):
    """kubectl uses the in-cluster config only when no connection flag is given: with
    --request-timeout (the mode check, the smoke tests) it tries localhost:8080, so in a Pod every
    deploy "simulated" (found in the e2e cluster). deploy.sh writes the service account's
    kubeconfig instead; here it points at a closed port on loopback."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("not-a-token")
    (account / "ca.crt").write_text("")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    in_cluster = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "1",
        "SERVICE_ACCOUNT_DIR": str(account),
        "TMPDIR": str(scratch),
    }
    result = deploy_to("staging", *release("a"), SIMULATE="auto", **in_cluster)
    assert result.returncode == 0, result.stderr
    assert "in-cluster service account cannot patch deployments" in result.stdout
    [kubeconfig] = scratch.glob("deploy-kubeconfig.*")
    config = yaml.safe_load(kubeconfig.read_text())
    assert config["clusters"][0]["cluster"] == {
        "server": "https://127.0.0.1:1",
        "certificate-authority": str(account / "ca.crt"),
    }
    assert config["users"][0]["user"] == {"tokenFile": str(account / "token")}
    # the pipelines' default, simulate=false: a cluster the account cannot reach is an error
    result = deploy_to("staging", *release("a"), SIMULATE="false", **in_cluster)
    assert result.returncode == 1
    assert "SIMULATE=false but in-cluster service account cannot patch" in result.stderr


def test_the_pipelines_deploy_for_real_unless_told_to_rehearse():
    """A webhook-started cd run passes no simulate: it must deploy, never silently rehearse."""
    for name in ("cd", "rollback"):
        spec = yaml.safe_load((TEKTON / "pipelines" / f"{name}.yaml").read_text())["spec"]
        [simulate] = [p for p in spec["params"] if p["name"] == "simulate"]
        assert simulate["default"] == "false", name
