"""Webhook deliveries through the EventListener, computed offline with Tekton Triggers' own code
(hack/tekton-validate render: the real sink, interceptors, bindings and templates), and the
PipelineRun each one creates, validated against the repository's Pipelines."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
import yaml

from tekton.tekton_helpers import ROOT, TEKTON, edit, recording_server, run

WEBHOOKS = Path(__file__).parent / "webhooks"
SECRET = "techcommerce-test-webhook-secret"
SECRET_FLAG = f"techcommerce-ci/github-webhook-secret/secret={SECRET}"
AFTER = "4e8d2c6b1a0f9e8d7c6b5a493827161504f3e2d1"
BEFORE = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c"


def render(validator, names, resources=TEKTON, secret=SECRET_FLAG):
    args = []
    for name in names:
        args += [WEBHOOKS / f"{name}.headers", WEBHOOKS / f"{name}.json"]
    result = run([validator, "render", "-resources", resources, "-secret", secret, *args])
    outcomes = json.loads(result.stdout) if result.stdout.strip() else []
    return result, {Path(o["delivery"]).stem: o for o in outcomes}


def params(run_obj: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in run_obj["spec"]["params"]}


def cluster_binding(tekton_dir: Path = TEKTON) -> dict[str, str]:
    """The params of TriggerBinding techcommerce-cluster: what a cluster sets in one place."""
    doc = yaml.safe_load((tekton_dir / "triggers" / "cluster.yaml").read_text())
    assert doc["kind"] == "TriggerBinding"
    assert doc["metadata"]["name"] == "techcommerce-cluster"
    return {p["name"]: p["value"] for p in doc["spec"]["params"]}


# A branch that is not a label value as it is gets '-' + a hash (tests/tekton/test_branch_names.py).
HASH = "-[0-9a-v]{6}"

# sample -> (pipeline, trigger, expected params, expected labels (regular expressions))
CREATES = {
    "push-main-one-service": (
        "cd",
        "cd-main",
        {
            "revision": AFTER,
            "base-revision": BEFORE,
            "branch": "main",
            "services": "product-api",
            "stop-after-staging": "false",
            **cluster_binding(),
        },
        {"techcommerce.dev/branch": "main", "techcommerce.dev/services": "product-api"},
    ),
    "push-main-shared-code": ("cd", "cd-main", {"services": "all"}, {}),
    "push-main-tests-only": ("cd", "cd-main", {"services": "none"}, {}),
    "push-develop-two-services": (
        "cd",
        "cd-develop",
        {
            "branch": "develop",
            "services": "order-api,frontend",
            "stop-after-staging": "true",
            **cluster_binding(),
        },
        {"techcommerce.dev/services": "order-api.frontend"},
    ),
    "push-feature-branch-with-slash": (
        "ci",
        "ci-push",
        {"branch": "feature/cart-v2", "services": "frontend", "revision": AFTER},
        {"techcommerce.dev/branch": f"feature-cart-v2{HASH}"},
    ),
    "push-new-branch": (
        "ci",
        "ci-push",
        {"branch": "fix/typo", "services": "auto", "base-revision": "0" * 40},
        {"techcommerce.dev/branch": f"fix-typo{HASH}"},
    ),
    "pull-request-opened": (
        "ci",
        "ci-pull-request",
        {
            "revision": AFTER,
            "base-revision": BEFORE,
            "branch": "feature/cart-v2",
            "services": "auto",
            "repo-url": "https://github.com/techcommerce/techcommerce.git",
        },
        {"techcommerce.dev/branch": f"feature-cart-v2{HASH}", "techcommerce.dev/commit": AFTER[:7]},
    ),
    "pull-request-synchronize": ("ci", "ci-pull-request", {"services": "auto"}, {}),
}

# sample -> (HTTP status, a log message that says why nothing was created)
CREATES_NOTHING = {
    "push-main-docs-only": (202, "did not return true"),
    "push-tag": (202, "did not return true"),
    "push-branch-deleted": (202, "did not return true"),
    "pull-request-closed": (202, "did not return true"),
    "ping": (202, "event type ping is not allowed"),
    "wrong-event-type": (202, "event type issues is not allowed"),
    "bad-signature": (202, "payload signature check failed"),
    "missing-signature": (202, "no X-Hub-Signature-256 header set"),
    "malformed-json": (400, "Invalid event body format"),
}


@pytest.fixture(scope="module")
def outcomes(validator):
    result, outcomes = render(validator, [*CREATES, *CREATES_NOTHING])
    assert result.returncode == 0, result.stderr
    return outcomes


def test_every_sample_is_covered():
    samples = {p.stem for p in WEBHOOKS.glob("*.json")}
    assert samples == set(CREATES) | set(CREATES_NOTHING)
    for name in samples:
        assert (WEBHOOKS / f"{name}.headers").is_file()


@pytest.mark.parametrize("sample", sorted(CREATES))
def test_delivery_creates_the_expected_pipeline_run(outcomes, sample):
    pipeline, trigger, want_params, want_labels = CREATES[sample]
    outcome = outcomes[sample]
    assert outcome["status"] == 202
    assert outcome["findings"] == []
    [pr] = outcome["pipelineRuns"]
    assert pr["apiVersion"] == "tekton.dev/v1"
    assert pr["kind"] == "PipelineRun"
    assert pr["spec"]["pipelineRef"] == {"name": pipeline}
    meta = pr["metadata"]
    assert meta["generateName"].startswith(f"{pipeline}-")
    assert meta["namespace"] == "techcommerce-ci"
    labels = meta["labels"]
    assert labels["triggers.tekton.dev/trigger"] == trigger
    assert labels["triggers.tekton.dev/eventlistener"] == "techcommerce-github"
    assert labels["techcommerce.dev/repo"] == "techcommerce"
    assert labels["techcommerce.dev/commit"] == AFTER[:7]
    for key, value in want_labels.items():
        assert re.fullmatch(value, labels[key]), (key, labels[key])
    got = params(pr)
    for key, value in want_params.items():
        assert got[key] == value, key
    assert meta["annotations"]["tekton.dev/auto-cleanup-pvc"] == "true"
    assert meta["annotations"]["techcommerce.dev/branch"] == got["branch"]
    shared = next(w for w in pr["spec"]["workspaces"] if w["name"] == "shared")
    assert "volumeClaimTemplate" in shared
    sa = pr["spec"]["taskRunTemplate"]["serviceAccountName"]
    assert sa == ("techcommerce-cd" if pipeline == "cd" else "techcommerce-ci")
    if pipeline == "cd":
        assert pr["spec"]["timeouts"]["pipeline"] == "27h"


@pytest.mark.parametrize("sample", sorted(CREATES_NOTHING))
def test_delivery_creates_nothing(outcomes, sample):
    status, reason = CREATES_NOTHING[sample]
    outcome = outcomes[sample]
    assert outcome["status"] == status
    assert outcome["pipelineRuns"] == []
    assert any(reason in line for line in outcome["log"]), outcome["log"]


def test_wrong_webhook_secret_creates_nothing(validator):
    result, outcomes = render(
        validator,
        ["push-main-one-service"],
        secret="techcommerce-ci/github-webhook-secret/secret=not-the-secret",
    )
    assert result.returncode == 0, result.stderr
    assert outcomes["push-main-one-service"]["pipelineRuns"] == []
    assert any(
        "signature check failed" in line for line in outcomes["push-main-one-service"]["log"]
    )


def test_an_invalid_created_pipeline_run_fails_the_render(validator, tekton_copy):
    # The template passes a param the cd Pipeline does not declare: only an event shows it.
    edit(
        tekton_copy / "triggers" / "templates.yaml",
        "          - name: stop-after-staging\n            value: $(tt.params.stop-after-staging)",
        "          - name: stop-after-stage\n            value: $(tt.params.stop-after-staging)",
    )
    assert run([validator, "check", tekton_copy]).returncode == 0, "the static check cannot see it"
    result, outcomes = render(validator, ["push-main-one-service"], resources=tekton_copy)
    assert result.returncode == 1
    findings = outcomes["push-main-one-service"]["findings"]
    assert any('param "stop-after-stage" is not declared by Pipeline "cd"' in f for f in findings)


def test_every_created_run_has_its_template_params_resolved(outcomes):
    for sample in CREATES:
        for pr in outcomes[sample]["pipelineRuns"]:
            assert "$(tt." not in json.dumps(pr), sample


def test_the_cluster_binding_is_where_cd_runs_get_their_registry(validator, tekton_copy):
    """One place per cluster: changing TriggerBinding techcommerce-cluster (as hack/cluster-up
    does for kind) changes the registry of every cd run the webhooks start, and nothing else."""
    assert {"registry", "insecure-registry"} <= set(cluster_binding())
    assert "registry.example.com" not in (TEKTON / "triggers" / "templates.yaml").read_text()
    binding = tekton_copy / "triggers" / "cluster.yaml"
    edit(binding, "registry.example.com/shop", "kind-registry:5000")
    edit(binding, 'value: "false"', 'value: "true"')
    samples = ["push-main-one-service", "push-develop-two-services", "pull-request-opened"]
    result, outcomes = render(validator, samples, resources=tekton_copy)
    assert result.returncode == 0, result.stderr
    for sample in samples[:2]:
        [pr] = outcomes[sample]["pipelineRuns"]
        assert outcomes[sample]["findings"] == []
        assert params(pr)["registry"] == "kind-registry:5000"
        assert params(pr)["insecure-registry"] == "true"
    # ci builds push nothing: they keep the ci Pipeline's own default.
    [ci] = outcomes["pull-request-opened"]["pipelineRuns"]
    assert "registry" not in params(ci)


def test_a_cd_trigger_without_the_cluster_binding_fails_the_render(validator, tekton_copy):
    """Without the binding Triggers still creates the run, carrying the text
    $(tt.params.registry); the render reports it."""
    edit(tekton_copy / "triggers" / "triggers.yaml", "    - ref: techcommerce-cluster\n", "")
    result, outcomes = render(validator, ["push-main-one-service"], resources=tekton_copy)
    assert result.returncode == 1
    findings = outcomes["push-main-one-service"]["findings"]
    assert any("keeps $(tt.params.registry)" in f for f in findings), findings


def test_a_cel_mistake_shows_in_the_render(validator, tekton_copy):
    edit(
        tekton_copy / "triggers" / "triggers.yaml",
        "extensions.branch == 'main'",
        "extensions.brnch == 'main'",
    )
    result, outcomes = render(validator, ["push-main-one-service"], resources=tekton_copy)
    assert result.returncode == 0
    assert outcomes["push-main-one-service"]["pipelineRuns"] == []


# ---- hack/send-webhook ---------------------------------------------------------------------


@pytest.fixture
def listener():
    """What an EventListener answers: 202 with its name."""
    with recording_server(202, b'{"eventListener":"techcommerce-github"}') as server:
        yield server


def send_webhook(*args, **env):
    return run([ROOT / "hack" / "send-webhook", *args], env=env)


def test_send_webhook_sends_a_delivery_triggers_accepts(validator, listener, tmp_path):
    url, requests = listener
    result = send_webhook(url, "--sample", "push-main-one-service", WEBHOOK_SECRET=SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("202 ")
    [(_, headers, body)] = requests
    assert body == (WEBHOOKS / "push-main-one-service.json").read_bytes()
    assert headers["X-GitHub-Event"] == "push"
    want = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={want}"
    # What it sent is what the EventListener accepts: feed the captured request to Triggers.
    (tmp_path / "sent.headers").write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
    (tmp_path / "sent.json").write_bytes(body)
    sent = [tmp_path / "sent.headers", tmp_path / "sent.json"]
    result = run([validator, "render", "-resources", TEKTON, "-secret", SECRET_FLAG, *sent])
    assert result.returncode == 0, result.stderr
    [outcome] = json.loads(result.stdout)
    assert len(outcome["pipelineRuns"]) == 1


def test_send_webhook_payload_file_and_secret_file(listener, tmp_path):
    url, requests = listener
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "p.json").write_text('{"zen": "hi"}')
    result = send_webhook(
        url,
        "--payload",
        tmp_path / "p.json",
        "--event",
        "ping",
        "--secret-file",
        tmp_path / "secret",
    )
    assert result.returncode == 0, result.stderr
    [(_, headers, body)] = requests
    assert headers["X-GitHub-Event"] == "ping"
    want = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={want}"


def test_send_webhook_usage_errors(listener):
    url, requests = listener
    assert send_webhook(url, "--sample", "push-main-one-service").returncode == 2  # no secret
    assert send_webhook(url, "--sample", "nope", WEBHOOK_SECRET="x").returncode == 2
    assert send_webhook(url, "--payload", "x.json", WEBHOOK_SECRET="x").returncode == 2
    assert requests == []


def test_send_webhook_reports_an_unreachable_listener():
    result = send_webhook("http://127.0.0.1:9", "--sample", "ping", WEBHOOK_SECRET="x")
    assert result.returncode == 1


# ---- the trigger's CEL rules and detect-changes agree --------------------------------------


@pytest.mark.parametrize(
    "sample",
    sorted(s for s, c in CREATES.items() if c[2].get("services") not in (None, "auto")),
)
def test_trigger_services_match_detect_changes(outcomes, tmp_path, sample):
    """The services a push's CEL overlay picks equal what detect-changes.sh picks from the git
    diff of the same paths (the two implement one rule in two places)."""
    [pr] = outcomes[sample]["pipelineRuns"]
    from_trigger = params(pr)["services"]
    body = json.loads((WEBHOOKS / f"{sample}.json").read_text())
    paths = {p for c in body["commits"] for p in c["added"] + c["modified"] + c["removed"]}
    repo = tmp_path / "repo"
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    run(["git", "init", "-q", repo], check=True)
    (repo / "seed").write_text("0\n")
    run(["git", "-C", repo, "add", "-A"], check=True)
    run(["git", "-C", repo, "commit", "-qm", "seed"], env=env, check=True)
    base = run(["git", "-C", repo, "rev-parse", "HEAD"], check=True).stdout.strip()
    for path in paths:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("changed\n")
    run(["git", "-C", repo, "add", "-A"], check=True)
    run(["git", "-C", repo, "commit", "-qm", "change"], env=env, check=True)
    detected = run(
        ["sh", TEKTON / "scripts" / "detect-changes.sh"],
        env={"SOURCE_DIR": str(repo), "SERVICES": "auto", "BASE_REVISION": base},
        check=True,
    ).stdout.split()
    expected = {
        "all": ["product-api", "order-api", "frontend"],
        "none": [],
    }.get(from_trigger, from_trigger.split(","))
    assert detected == expected
