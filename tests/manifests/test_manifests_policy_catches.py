"""The policy tests fail on the mistakes they exist for.

Each case copies the rendered staging overlay, breaks one thing, and runs the policy test that
must catch it: a policy that passes everything would pass here too, and this file would fail.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from manifests import test_manifests_policy as policy
from manifests import test_manifests_render as render
from manifests.manifest_lib import Rendered


def _deployment(r: Rendered, name: str) -> dict:
    return r.get("Deployment", name)


def _container(r: Rendered, name: str) -> dict:
    return _deployment(r, name)["spec"]["template"]["spec"]["containers"][0]


def _policy(r: Rendered, name: str) -> dict:
    return r.get("NetworkPolicy", name)["spec"]


def _env_item(r: Rendered, workload: str, var: str) -> dict:
    return next(i for i in _container(r, workload)["env"] if i["name"] == var)


def _set_configmap(r: Rendered, prefix: str, key: str, value: str) -> None:
    cm = next(
        o for o in r.of_kind("ConfigMap") if o["metadata"]["name"].rsplit("-", 1)[0] == prefix
    )
    cm["data"][key] = value


MUTATIONS: dict[str, tuple[Callable[[Rendered], None], Callable[[Rendered], None]]] = {
    "writable root filesystem": (
        lambda r: _container(r, "order-api")["securityContext"].update(
            readOnlyRootFilesystem=False
        ),
        policy.test_every_container_is_hardened,
    ),
    "root user in the pod": (
        lambda r: [
            _container(r, "frontend")["securityContext"].pop("runAsUser"),
            _deployment(r, "frontend")["spec"]["template"]["spec"]["securityContext"].update(
                runAsUser=0
            ),
        ],
        policy.test_every_container_is_hardened,
    ),
    "a capability added back": (
        lambda r: _container(r, "product-api")["securityContext"]["capabilities"].update(
            add=["NET_BIND_SERVICE"]
        ),
        policy.test_every_container_is_hardened,
    ),
    "no liveness probe": (
        lambda r: r.get("StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0].pop(
            "livenessProbe"
        ),
        policy.test_every_container_is_hardened,
    ),
    "no memory limit": (
        lambda r: _container(r, "frontend")["resources"]["limits"].pop("memory"),
        policy.test_every_container_is_hardened,
    ),
    "service account token mounted": (
        lambda r: _deployment(r, "order-api")["spec"]["template"]["spec"].update(
            automountServiceAccountToken=True
        ),
        policy.test_every_container_is_hardened,
    ),
    "Service targets a port the pods lack": (
        lambda r: r.get("Service", "order-api")["spec"]["ports"][0].update(targetPort="web"),
        policy.test_services_select_exactly_one_workload_and_its_ports_exist,
    ),
    "Service selects no pod": (
        lambda r: r.get("Service", "product-api")["spec"]["selector"].update(
            {"app.kubernetes.io/name": "product"}
        ),
        policy.test_services_select_exactly_one_workload_and_its_ports_exist,
    ),
    "Deployment selector does not match its pods": (
        lambda r: _deployment(r, "frontend")["spec"]["selector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "shop"}
        ),
        policy.test_workload_selectors_match_their_pod_labels,
    ),
    "secret key that does not exist": (
        lambda r: _env_item(r, "product-api", "ADMIN_TOKEN")["valueFrom"]["secretKeyRef"].update(
            key="TOKEN"
        ),
        policy.test_every_referenced_configmap_and_secret_key_exists,
    ),
    "$(VAR) used before it is defined": (
        lambda r: _container(r, "order-api")["env"].reverse(),
        policy.test_every_referenced_configmap_and_secret_key_exists,
    ),
    "configuration the service rejects": (
        lambda r: _set_configmap(r, "order-api", "SHUTDOWN_TIMEOUT_SECONDS", "27"),
        policy.test_each_service_accepts_its_rendered_configuration,
    ),
    "PORT differs from the container port": (
        lambda r: _set_configmap(r, "frontend", "PORT", "8080"),
        policy.test_each_service_accepts_its_rendered_configuration,
    ),
    "shutdown longer than the grace period": (
        lambda r: _deployment(r, "product-api")["spec"]["template"]["spec"].update(
            terminationGracePeriodSeconds=20
        ),
        policy.test_http_probes_and_graceful_shutdown_fit_the_grace_period,
    ),
    "frontend configured with a port the Service does not expose": (
        lambda r: _set_configmap(r, "frontend", "ORDER_API_URL", "http://order-api:5000"),
        policy.test_configured_addresses_point_at_real_services,
    ),
    "DATABASE_URL naming a host without a Service": (
        lambda r: _env_item(r, "order-api", "DATABASE_URL").update(
            value="postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@db:5432/$(POSTGRES_DB)"
        ),
        policy.test_configured_addresses_point_at_real_services,
    ),
    "pools larger than max_connections": (
        lambda r: _set_configmap(r, "product-api", "DB_POOL_MAX", "40"),
        policy.test_database_connections_fit_postgres_max_connections,
    ),
    "API reachable from anywhere": (
        lambda r: _policy(r, "product-api")["ingress"][0].pop("from"),
        policy.test_network_policies_allow_exactly_the_intended_flows,
    ),
    "policy allows a port the pod does not serve": (
        lambda r: _policy(r, "order-api")["ingress"][0]["ports"][0].update(port=8080),
        policy.test_network_policies_allow_exactly_the_intended_flows,
    ),
    "policy peer matches no pod": (
        lambda r: _policy(r, "postgres")["ingress"][0]["from"][2]["podSelector"][
            "matchLabels"
        ].update({"app.kubernetes.io/name": "migrations"}),
        policy.test_network_policies_allow_exactly_the_intended_flows,
    ),
    "postgres ingress rule dropped": (
        lambda r: _policy(r, "postgres")["ingress"][0]["from"].pop(1),
        policy.test_network_policies_allow_exactly_the_intended_flows,
    ),
    "replicas on the autoscaled Deployment": (
        lambda r: _deployment(r, "product-api")["spec"].update(replicas=2),
        render.test_no_overlay_sets_replicas_of_an_autoscaled_workload,
    ),
    "no disruption budget for a service": (
        lambda r: r.objects.remove(r.get("PodDisruptionBudget", "frontend")),
        policy.test_disruption_budgets_and_autoscalers_point_at_real_workloads,
    ),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_policy_catches(rendered_all: dict[str, Rendered], case: str) -> None:
    original = rendered_all["staging"]
    broken = Rendered(original.name, original.path, original.text, copy.deepcopy(original.objects))
    mutate, check = MUTATIONS[case]
    check(broken)  # the unbroken copy passes: the case below fails for its mutation alone
    broken = Rendered(original.name, original.path, original.text, copy.deepcopy(original.objects))
    mutate(broken)
    with pytest.raises(AssertionError):
        check(broken)


def test_probe_path_check_catches_a_route_the_service_does_not_serve(
    rendered_all: dict[str, Rendered],
) -> None:
    original = rendered_all["staging"]
    broken = Rendered(original.name, original.path, original.text, copy.deepcopy(original.objects))
    _container(broken, "order-api")["readinessProbe"]["httpGet"]["path"] = "/readyz"
    with pytest.raises(AssertionError, match="/readyz"):
        policy.test_probe_and_scrape_paths_exist_in_the_service_router(broken, "order-api")
