"""The Prometheus rules: promtool accepts them, their unit tests pass and can fail, and every
alert carries what the on-call person needs (severity, summary, description, runbook link)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from tests.monitoring.monitoring_support import (
    README,
    RULE_TESTS_DIR,
    RULES_DIR,
    RUNBOOK_BASE,
    alert_rules,
    all_rules,
    rule_files,
    rule_test_files,
    run,
)

SEVERITIES = {"critical", "warning", "info"}


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def readme_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", README.read_text(), flags=re.MULTILINE)
    return {github_anchor(heading) for heading in headings}


def test_promtool_check_rules_accepts_every_rule_file():
    result = run(["promtool", "check", "rules", *map(str, rule_files())])
    assert result.returncode == 0, result.stdout
    assert len(rule_files()) >= 3


@pytest.mark.parametrize("test_file", rule_test_files(), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: Path):
    result = run(["promtool", "test", "rules", str(test_file)])
    assert result.returncode == 0, result.stdout
    assert "SUCCESS" in result.stdout


def test_every_rule_file_has_a_unit_test_file():
    tested = set()
    for test_file in rule_test_files():
        for rule_file in yaml.safe_load(test_file.read_text())["rule_files"]:
            tested.add((test_file.parent / rule_file).resolve())
    assert {path.resolve() for path in rule_files()} <= tested


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_has_severity_summary_description_and_runbook(rule):
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    runbook = annotations["runbook_url"]
    assert runbook.startswith(RUNBOOK_BASE), runbook
    anchor = runbook.removeprefix(RUNBOOK_BASE)
    assert anchor == rule["alert"].lower(), "one runbook section per alert, named after it"
    assert anchor in readme_anchors(), f"monitoring/README.md has no section #{anchor}"


def test_alert_names_are_unique_camel_case():
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+", name) for name in names)


def test_recording_rule_names_follow_level_metric_operations():
    for rule in all_rules():
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]


def _alert_tests() -> list[dict]:
    cases = []
    for test_file in rule_test_files():
        for group in yaml.safe_load(test_file.read_text())["tests"]:
            cases.extend(group.get("alert_rule_test", []))
    return cases


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_tested_firing_and_not_firing(rule):
    cases = [case for case in _alert_tests() if case["alertname"] == rule["alert"]]
    firing = [case for case in cases if case.get("exp_alerts")]
    silent = [case for case in cases if not case.get("exp_alerts")]
    assert firing, f"no test where {rule['alert']} fires"
    assert len(silent) >= 2, f"{rule['alert']} needs boundary and recovery cases that do not fire"
    for case in firing:
        for alert in case["exp_alerts"]:
            assert alert["exp_labels"]["severity"] == rule["labels"]["severity"]
            assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}


# Each mutation changes one threshold, window or aggregation the issue asks for; the unit tests
# must notice. (file, text to replace, replacement, why the tests must fail)
NODE_FS = "          ) > "  # first match: the node filesystem threshold
PVC = "capacity_bytes\n          ) > "
MUTATIONS = [
    ("kubernetes.rules.yml", ") > 3", ") > 2", "3 restarts must not fire"),
    ("kubernetes.rules.yml", ") > 3", ") > 4", "4 restarts must fire"),
    ("kubernetes.rules.yml", "floor(increase(", "(increase(", "extrapolated 3.3 restarts"),
    ("kubernetes.rules.yml", NODE_FS + "0.85", NODE_FS + "0.83", "84% node disk must not fire"),
    ("kubernetes.rules.yml", NODE_FS + "0.85", NODE_FS + "0.87", "86% node disk must fire"),
    ("kubernetes.rules.yml", PVC + "0.85", PVC + "0.83", "84% PVC must not fire"),
    ("kubernetes.rules.yml", "up == 0\n        for: 5m", "up == 0\n        for: 4m", "for: 5m"),
    ("http.rules.yml", "p95_5m > 2\n", "p95_5m > 1.8\n", "p95 of 1.9 s must not fire"),
    ("http.rules.yml", "p95_5m > 2\n", "p95_5m > 2.6\n", "p95 of 2.5 s must fire"),
    ("http.rules.yml", "by (namespace, service, le)", "by (namespace, service, pod, le)", "pods"),
    ("http.rules.yml", "ratio_rate5m > 0.05", "ratio_rate5m > 0.03", "4% errors must not fire"),
    ("http.rules.yml", "ratio_rate5m > 0.05", "ratio_rate5m > 0.07", "6% errors must fire"),
    ("http.rules.yml", 'status=~"5.."', 'status=~"[45].."', "4xx are not errors"),
    ("slo.rules.yml", "ratio_rate5m > (14.4", "ratio_rate1h > (14.4", "the short window"),
    ("slo.rules.yml", "(14.4 * 0.005)", "(14.4 * 0.01)", "fast burn threshold"),
    ("slo.rules.yml", "(1 * 0.005)", "(2 * 0.005)", "slow burn threshold"),
    ("slo.rules.yml", 'method="POST", status', "status", "only POST /orders counts"),
]


@pytest.mark.parametrize(
    ("rule_file", "old", "new", "why"), MUTATIONS, ids=[m[3] for m in MUTATIONS]
)
def test_unit_tests_catch_a_changed_rule(tmp_path: Path, rule_file, old, new, why):
    source = (RULES_DIR / rule_file).read_text()
    assert source.count(old) >= 1, f"mutation target {old!r} not in {rule_file}"
    (tmp_path / "rules").mkdir()
    for path in rule_files():
        shutil.copy(path, tmp_path / "rules" / path.name)
    (tmp_path / "rules" / rule_file).write_text(source.replace(old, new, 1))
    shutil.copytree(RULE_TESTS_DIR, tmp_path / "tests")
    checked = run(["promtool", "check", "rules", str(tmp_path / "rules" / rule_file)])
    assert checked.returncode == 0, checked.stdout
    test_files = [
        path
        for path in sorted((tmp_path / "tests").glob("*.test.yml"))
        if f"../rules/{rule_file}" in yaml.safe_load(path.read_text())["rule_files"]
    ]
    assert test_files
    result = run(["promtool", "test", "rules", *map(str, test_files)])
    assert result.returncode != 0, f"the unit tests did not notice: {why}"


SLO_GENERATOR = RULES_DIR.parent / "slo_rules.py"


def test_slo_rules_are_what_the_generator_writes(tmp_path: Path):
    """The SLO's selector and windows are stated once, in the generator; the rules file is its
    output. A hand edit of the rules file is caught."""
    assert run([sys.executable, str(SLO_GENERATOR), "--check"]).returncode == 0
    copy = tmp_path / "prometheus"
    shutil.copytree(RULES_DIR.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    edited = copy / "rules" / "slo.rules.yml"
    edited.write_text(edited.read_text().replace("[5m]", "[4m]", 1))
    stale = run([sys.executable, str(copy / "slo_rules.py"), "--check"])
    assert stale.returncode == 1
    assert "out of date" in stale.stdout
