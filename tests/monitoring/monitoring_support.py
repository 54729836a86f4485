"""Shared helpers of the monitoring tests: paths, the rule files, tool runs, a real Prometheus."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
ALERTMANAGER_CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"
DASHBOARDS_DIR = MONITORING / "grafana" / "dashboards"
README = MONITORING / "README.md"
RUNBOOK_BASE = "https://github.com/techcommerce/techcommerce/blob/main/monitoring/README.md#"


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.test.yml"))


def all_rules() -> list[dict[str, Any]]:
    rules = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(group["rules"])
    return rules


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "alert" in rule]


def recording_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "record" in rule]


def run(cmd: list[str], cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a tool; the result carries stdout+stderr together for assertion messages."""
    return subprocess.run(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def kustomize_command() -> list[str]:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    local = ROOT / ".venv-tools" / "bin" / "kustomize"
    if local.exists():
        return [str(local), "build"]
    raise AssertionError("no kubectl or kustomize: run hack/dev/deps/monitoring.sh")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return response.status == 200


def http_get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, urllib.error.URLError, ValueError) as err:
            last_error = err
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last_error})")


class Prometheus:
    """Client of a running Prometheus's HTTP API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET /api/v1/<path>; returns the whole JSON answer, errors included (HTTP 400/422)."""
        query = urllib.parse.urlencode(params)
        url = f"{self.base_url}/api/v1/{path}?{query}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            return json.load(err)

    def query(self, expr: str) -> dict[str, Any]:
        return self.api("query", query=expr)

    def targets(self) -> dict[str, Any]:
        return self.api("targets")["data"]


@contextlib.contextmanager
def running_server(argv: list[str], port: int, log_path: Path) -> Iterator[str]:
    """Run ARGV, a Prometheus-family server (Prometheus, Alertmanager) that listens on
    127.0.0.1:PORT, with its output in LOG_PATH; yield its base URL once /-/ready answers 200
    (fail with the log if it exits first); stop it at the end."""
    name = Path(argv[0]).name
    log = log_path.open("w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"{name} exited with {process.returncode}:\n" + log_path.read_text()
            )
        with urllib.request.urlopen(f"{base_url}/-/ready", timeout=1) as response:
            return response.status == 200

    try:
        wait_until(ready, timeout=20, what=f"{name} /-/ready")
        yield base_url
    finally:
        stop_process(process, timeout=10)
        log.close()


@contextlib.contextmanager
def running_prometheus(
    config_file: Path, workdir: Path, port: int | None = None
) -> Iterator[Prometheus]:
    """Start the Debian prometheus binary on a (free) loopback port with throwaway storage."""
    port = port or free_port()
    argv = [
        "prometheus",
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    with running_server(argv, port, workdir / "prometheus.log") as base_url:
        yield Prometheus(base_url)


# ---------------------------------------------------------------------------------------- PromQL
# Prometheus checks syntax; these helpers list which metric names and label names an expression
# uses, so a test can demand that they exist. (A misspelt metric in `a or b` would otherwise go
# unnoticed as long as `a` returns data.)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_RANGE = re.compile(r"\[[^\]]*\]")
_TOKEN = re.compile(
    r"(?P<num>[0-9][0-9a-zA-Z.]*)|(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"|(?P<matchop>=~|!~|!=|=)|(?P<punct>[{}(),])|(?P<other>\S)"
)
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "Inf", "NaN", "inf", "nan"}
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
}  # fmt: skip


def promql_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) used by a PromQL expression, in selectors and groupings."""
    text = _RANGE.sub(" ", _STRING.sub('""', expr))
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
    metrics: set[str] = set()
    labels: set[str] = set()
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if value == "{":  # label matchers up to the closing brace
            i += 1
            while i < len(tokens) and tokens[i][1] != "}":
                if (
                    tokens[i][0] == "ident"
                    and i + 1 < len(tokens)
                    and tokens[i + 1][0] == "matchop"
                ):
                    labels.add(tokens[i][1])
                i += 1
        elif kind == "ident" and value in _GROUPING:
            if nxt == "(":
                i += 2
                while i < len(tokens) and tokens[i][1] != ")":
                    if tokens[i][0] == "ident":
                        labels.add(tokens[i][1])
                    i += 1
        elif kind == "ident" and value in _AGGREGATIONS and nxt in _GROUPING:
            pass  # `sum by (...) (...)`: the grouping is read on the next token
        elif kind == "ident" and value not in _KEYWORDS and nxt != "(":
            metrics.add(value)
        i += 1
    labels.discard("__name__")
    return metrics, labels


def grafana_expr(expr: str, variables: dict[str, str]) -> str:
    """Substitute Grafana's variables the way Grafana would before sending the query."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    assert "$" not in expr, f"unsubstituted Grafana variable in {expr}"
    return expr


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))]


def panel_queries() -> list[tuple[str, str, str, str, str]]:
    """(dashboard uid, panel title, refId, expr, legendFormat) of every panel target."""
    queries = []
    for board in dashboards():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                queries.append(
                    (
                        board["uid"],
                        panel["title"],
                        target["refId"],
                        target["expr"],
                        target.get("legendFormat", ""),
                    )
                )
    return queries


def variable_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, variable name, query) of every query variable."""
    return [
        (board["uid"], var["name"], var["query"]["query"])
        for board in dashboards()
        for var in board["templating"]["list"]
        if var["type"] == "query"
    ]
