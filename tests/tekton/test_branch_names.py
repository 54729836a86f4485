"""Any branch name a webhook carries becomes a PipelineRun that Kubernetes accepts.

Each branch is pushed (and opened as a pull request) through the EventListener with Tekton
Triggers' own code (hack/tekton-validate render), which checks every created object with
Kubernetes' own metadata validation (k8s.io/apimachinery: generateName and the name the API
server makes from it, label keys and values, annotations) as well as Tekton's. The label is the
branch made label-safe; the annotation keeps the real name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tekton.tekton_helpers import TEKTON, edit, run
from tekton.webhooks.generate import AFTER, commit, headers, pull_request, push

SECRET_FLAG = "techcommerce-ci/github-webhook-secret/secret=techcommerce-test-webhook-secret"
HASHED = re.compile(r"(?P<base>[a-z0-9]([a-z0-9-]*[a-z0-9])?)-(?P<hash>[0-9a-v]{6})")
# Kubernetes' own patterns (k8s.io/apimachinery/pkg/util/validation), checked again here
# independently of the Go validator.
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = re.compile(rf"{DNS_LABEL}(\.{DNS_LABEL})*")

# Branches that differ only in what sanitising removes: each must get its own label.
SAME_AFTER_SANITISING = [
    "fix_login",
    "fix.login",
    "Fix-Login",
    "FIX_LOGIN",
    "fix/login",
    "fix--login",
    "fix-login-",
]
BRANCHES = [
    "main",
    "develop",
    "feature-cart-v2",
    "Feature/ABC-123",
    "feature/café",
    "wip-",
    "-leading-dash",
    "release/1.2.3",
    "UPPER",
    "___",
    "日本語",
    "a" * 63,
    "a" * 64,
    "feature/" + "x" * 192,
    "Feature/" + "ü" * 100,
    *SAME_AFTER_SANITISING,
]


def deliveries(tmp_path: Path, branches: list[str], event: str) -> list[Path]:
    """Signed push or pull_request deliveries, one per branch."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = []
    for i, branch in enumerate(branches):
        if event == "push":
            changed = [commit(AFTER, "x", modified=["services/frontend/cart.py"])]
            body_obj = push(f"refs/heads/{branch}", changed)
        else:
            body_obj = pull_request("opened")
            body_obj["pull_request"]["head"]["ref"] = branch
        body = json.dumps(body_obj).encode()
        (tmp_path / f"{event}-{i}.json").write_bytes(body)
        (tmp_path / f"{event}-{i}.headers").write_text(headers(event, body))
        args += [tmp_path / f"{event}-{i}.headers", tmp_path / f"{event}-{i}.json"]
    return args


def render_branches(validator, tmp_path, branches, event, resources=TEKTON):
    args = deliveries(tmp_path, branches, event)
    result = run([validator, "render", "-resources", resources, "-secret", SECRET_FLAG, *args])
    outcomes = json.loads(result.stdout) if result.stdout.strip() else []
    by_branch = {}
    for outcome in outcomes:
        index = int(Path(outcome["delivery"]).stem.rsplit("-", 1)[1])
        by_branch[branches[index]] = outcome
    return result, by_branch


@pytest.fixture(scope="module", params=["push", "pull_request"])
def created(request, validator, tmp_path_factory):
    event = request.param
    result, outcomes = render_branches(validator, tmp_path_factory.mktemp(event), BRANCHES, event)
    assert result.returncode == 0, result.stderr
    runs = {}
    for branch, outcome in outcomes.items():
        assert outcome["findings"] == [], (branch, outcome["findings"])
        [pr] = outcome["pipelineRuns"]
        runs[branch] = pr
    assert set(runs) == set(BRANCHES)
    return runs


def api_server_name(generate_name: str) -> str:
    """The name the API server makes from generateName: at most 58 characters + 5 random."""
    return generate_name[:58] + "x7k2q"


@pytest.mark.parametrize("branch", BRANCHES)
def test_every_branch_creates_a_run_kubernetes_accepts(created, branch):
    meta = created[branch]["metadata"]
    label = meta["labels"]["techcommerce.dev/branch"]
    assert len(label) <= 63 and LABEL_VALUE.fullmatch(label), label
    assert re.fullmatch(DNS_LABEL, label), f"{label!r} is also a name part"
    name = api_server_name(meta["generateName"])
    assert len(name) <= 63 and DNS_SUBDOMAIN.fullmatch(name), name
    for value in meta["labels"].values():
        assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), value


@pytest.mark.parametrize("branch", BRANCHES)
def test_the_annotation_and_the_param_keep_the_real_branch_name(created, branch):
    pr = created[branch]
    assert pr["metadata"]["annotations"]["techcommerce.dev/branch"] == branch
    assert {p["name"]: p["value"] for p in pr["spec"]["params"]}["branch"] == branch


def label(created, branch):
    return created[branch]["metadata"]["labels"]["techcommerce.dev/branch"]


def test_a_branch_that_is_already_a_label_is_its_own_label(created):
    for branch in ["main", "develop", "feature-cart-v2", "a" * 63]:
        assert label(created, branch) == branch


@pytest.mark.parametrize(
    ("branch", "base"),
    [
        ("Feature/ABC-123", "feature-abc-123"),
        ("fix_login", "fix-login"),
        ("feature/café", "feature-caf"),
        ("wip-", "wip"),
        ("-leading-dash", "leading-dash"),
        ("release/1.2.3", "release-1-2-3"),
        ("UPPER", "upper"),
        ("___", "branch"),
        ("日本語", "branch"),
        ("a" * 64, "a" * 56),
        ("feature/" + "x" * 192, "feature-" + "x" * 48),
        ("Feature/" + "ü" * 100, "feature"),
    ],
)
def test_any_other_branch_is_sanitised_and_hashed(created, branch, base):
    """Lowercase, runs outside [a-z0-9] -> '-', '-' stripped at both ends, cut to 56 ('branch'
    when empty), then '-' and a 6-character hash of the real name."""
    match = HASHED.fullmatch(label(created, branch))
    assert match, label(created, branch)
    assert match["base"] == base


def test_branches_that_differ_only_after_sanitising_get_distinct_labels(created):
    labels = [label(created, b) for b in SAME_AFTER_SANITISING]
    assert len(set(labels)) == len(labels), labels
    assert all(HASHED.fullmatch(x)["base"] == "fix-login" for x in labels), labels
    every = [label(created, b) for b in BRANCHES]
    assert len(set(every)) == len(every)


def test_push_and_pull_request_give_one_branch_the_same_label(validator, tmp_path):
    branches = ["Feature/ABC-123", "feature/café", "a" * 200]
    _, pushes = render_branches(validator, tmp_path / "p", branches, "push")
    _, pulls = render_branches(validator, tmp_path / "q", branches, "pull_request")
    for branch in branches:
        [a], [b] = pushes[branch]["pipelineRuns"], pulls[branch]["pipelineRuns"]
        assert (
            a["metadata"]["labels"]["techcommerce.dev/branch"]
            == (b["metadata"]["labels"]["techcommerce.dev/branch"])
        )


def test_without_sanitising_kubernetes_validation_fails_the_render(
    validator, tekton_copy, tmp_path
):
    """The render's apimachinery check is what catches an unsafe label: with the branch used as
    it comes, the render fails for exactly the branches a real API server would refuse."""
    listener = tekton_copy / "triggers" / "eventlistener.yaml"
    text = listener.read_text()
    start = text.index("                - key: branch_label\n")
    end = text.index("        # Which services to build.")
    listener.write_text(
        text[:start] + "                - key: branch_label\n"
        "                  expression: extensions.branch\n" + text[end:]
    )
    branches = ["main", "Feature/ABC-123", "fix_login", "wip-", "feature/café"]
    result, outcomes = render_branches(validator, tmp_path, branches, "push", tekton_copy)
    assert result.returncode == 1
    assert outcomes["main"]["findings"] == []
    for branch in branches[1:]:
        findings = outcomes[branch]["findings"]
        assert any("kubernetes: metadata." in f for f in findings), (branch, findings)
    assert any("metadata.labels" in f for f in outcomes["wip-"]["findings"])
    assert any("metadata.generateName" in f for f in outcomes["fix_login"]["findings"])


def test_an_invalid_annotation_key_fails_the_render(validator, tekton_copy, tmp_path):
    edit(
        tekton_copy / "triggers" / "templates.yaml",
        "          techcommerce.dev/branch: $(tt.params.branch)",
        "          techcommerce.dev/Branch Name: $(tt.params.branch)",
        count=2,
    )
    result, outcomes = render_branches(validator, tmp_path, ["main"], "push", tekton_copy)
    assert result.returncode == 1
    assert any("metadata.annotations" in f for f in outcomes["main"]["findings"])
