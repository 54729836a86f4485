"""hack/cluster/README.md stays true: its versions are versions.env's, the script options it shows
are accepted, its port-forwards name real Services and ports, and its `tkn pipeline start` command
uses params, workspaces, Secrets, files and a service account that exist."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from cluster.cluster_lib import REPO, Plan, run_script, yaml_docs
from support.kustomize import kustomize_objects

DOC = (REPO / "hack/cluster/README.md").read_text()
PORT_FORWARD = re.compile(r"-n (\S+) port-forward svc/(\S+) (\d+):(\d+)")


def test_the_versions_table_is_versions_env(versions: dict[str, str]):
    for key, value in versions.items():
        assert f"`{key}={value}`" in DOC, f"hack/cluster/README.md does not show {key}={value}"


@pytest.mark.parametrize(
    "invocation", sorted(set(re.findall(r"hack/cluster-(?:up|down)(?: --[a-z-]+)*", DOC)))
)
def test_every_script_invocation_in_the_doc_is_accepted(invocation: str):
    script, *options = invocation.split()
    args = [o for o in options if o != "--dry-run"]
    proc = run_script(script.removeprefix("hack/"), "--dry-run", *args)
    assert proc.returncode == 0, f"{invocation}: {proc.stderr}"


def _services(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[int]]:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): {p["port"] for p in o["spec"]["ports"]}
        for o in objects
        if o["kind"] == "Service"
    }


def test_port_forwards_name_real_services_and_ports(staging_render: list[dict[str, Any]]):
    services = _services(staging_render + kustomize_objects(REPO / "monitoring/kubernetes"))
    listeners = [
        d["metadata"]["name"]
        for d in yaml_docs(REPO / "tekton/triggers")
        if d["kind"] == "EventListener"
    ]
    forwards = PORT_FORWARD.findall(DOC)
    assert len(forwards) == 6
    checked = 0
    for namespace, service, _local, remote in forwards:
        if namespace == "tekton-pipelines":
            assert service == "tekton-dashboard" and remote == "9097"  # the Dashboard's release
            continue
        if namespace == "techcommerce-ci":
            assert service.removeprefix("el-") in listeners  # Triggers names it el-<listener>
            assert remote == "8080"
            continue
        assert int(remote) in services[(namespace, service)], (namespace, service, remote)
        checked += 1
    assert checked == 4


def test_cluster_up_prints_the_same_port_forwards(plan: Plan):
    printed = set(PORT_FORWARD.findall(plan.stderr.replace("--context kind-techcommerce ", "")))
    assert printed == set(PORT_FORWARD.findall(DOC))


def _tkn_start() -> list[str]:
    block = re.search(r"```sh\n(tkn -n techcommerce-ci pipeline start cd .*?)\n```", DOC, re.S)
    assert block, "no tkn pipeline start cd block in hack/cluster/README.md"
    return shlex.split(block.group(1).replace("\\\n", " ").replace("<commit SHA>", "SHA"))


def test_the_first_run_command_fits_the_cd_pipeline(plan: Plan):
    words = _tkn_start()
    pipeline = next(yaml_docs(REPO / "tekton/pipelines/cd.yaml"))
    params = {p["name"]: p for p in pipeline["spec"]["params"]}
    workspaces = {w["name"]: w for w in pipeline["spec"]["workspaces"]}
    given = dict(w.split("=", 1) for w in _values(words, "--param"))
    required = {n for n, p in params.items() if "default" not in p}
    assert required <= set(given), required - set(given)
    assert set(given) <= set(params)
    assert given["registry"] == "kind-registry:5000"
    bound = {}
    for spec in _values(words, "--workspace"):
        fields = dict(f.split("=", 1) for f in spec.split(","))
        bound[fields.pop("name")] = fields
    required_ws = {n for n, w in workspaces.items() if not w.get("optional")}
    assert required_ws <= set(bound) <= set(workspaces)
    created = {c.kubectl[3] for c in plan.find("kubectl", "create", "secret")}
    for fields in bound.values():
        if "secret" in fields:
            assert fields["secret"] in created
        if "volumeClaimTemplateFile" in fields:
            assert (REPO / fields["volumeClaimTemplateFile"]).is_file()
    assert (REPO / _values(words, "--pod-template")[0]).is_file()
    accounts = {
        d["metadata"]["name"]
        for d in yaml_docs(REPO / "tekton/rbac")
        if d["kind"] == "ServiceAccount"
    }
    assert _values(words, "--serviceaccount")[0] in accounts
    # The approval waits up to 24h: the run's timeout must be longer.
    assert _values(words, "--timeout") == ["27h"]


def _values(words: list[str], option: str) -> list[str]:
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == option]


def test_the_webhook_sample_the_doc_sends_exists():
    samples = re.findall(r"hack/send-webhook \S+ --sample (\S+)", DOC)
    assert samples
    assert (REPO / "hack/send-webhook").is_file()
    for sample in samples:
        assert (REPO / "tests/tekton/webhooks" / f"{sample}.json").is_file(), sample
