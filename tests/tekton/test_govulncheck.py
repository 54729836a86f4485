"""The project's Go code (hack/tools/tekton-validate) is built with the patched toolchain its go.mod
names and has no reachable known vulnerability, by govulncheck against the offline database
hack/dev/deps/tekton.sh builds from the golang.org/x/vulndb module (no network: GOPROXY=off).

A reachable finding fails the test unless ALLOWLIST names it with the reason it does not apply;
an allowlisted ID that is no longer found fails too, so the list stays true."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tekton.tekton_helpers import GO_VALIDATOR, TOOLS, go_env, run

GOVULNCHECK = TOOLS / "bin" / "govulncheck"
VULNDB = TOOLS / "vulndb"
ALLOWLIST = GO_VALIDATOR / "govulncheck-allowlist.txt"
MISSING = "missing: run hack/dev/deps/tekton.sh (make test runs it)"


@pytest.fixture(scope="module")
def govulncheck() -> Path:
    assert GOVULNCHECK.is_file(), f"{GOVULNCHECK} {MISSING}"
    assert (VULNDB / "index" / "modules.json").is_file(), f"{VULNDB} {MISSING}"
    return GOVULNCHECK


def scan(govulncheck: Path, module_dir: Path, mod: str = "readonly") -> tuple[set[str], list[dict]]:
    """Run govulncheck (source mode, call graph) on module_dir; return the IDs of reachable
    findings (a trace that ends in a function the code calls) and every message. The
    repository's go.mod and go.sum are never written (-mod=readonly)."""
    result = run(
        [govulncheck, "-db", f"file://{VULNDB.resolve()}", "-format", "json", "./..."],
        cwd=module_dir,
        env={**go_env(), "GOPROXY": "off", "GOFLAGS": f"-mod={mod}"},
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr
    messages = [json.loads(m) for m in split_json_stream(result.stdout)]
    reachable = {
        m["finding"]["osv"]
        for m in messages
        if "finding" in m and m["finding"]["trace"][0].get("function")
    }
    return reachable, messages


def split_json_stream(text: str) -> list[str]:
    """govulncheck -format json prints a stream of JSON objects, one after another."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        obj, end = decoder.raw_decode(text, i)
        out.append(json.dumps(obj))
        i = end


def allowlist() -> dict[str, str]:
    entries = {}
    for line in ALLOWLIST.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        assert re.fullmatch(r"GO-\d{4}-\d{4,}", vuln_id), line
        assert len(reason.strip()) >= 20, f"{vuln_id}: say why it does not apply"
        entries[vuln_id] = reason.strip()
    return entries


def test_the_validator_is_built_with_the_patched_toolchain():
    toolchain = go_env()["GOTOOLCHAIN"]
    assert toolchain == "go1.26.10"
    result = run(["go", "version"], cwd=GO_VALIDATOR, env=go_env(), check=True)
    assert result.stdout.split()[2] == toolchain


def test_the_validator_has_no_unexplained_reachable_vulnerability(govulncheck):
    reachable, messages = scan(govulncheck, GO_VALIDATOR)
    [config] = [m["config"] for m in messages if "config" in m]
    assert config["go_version"] == go_env()["GOTOOLCHAIN"], "scanned with the patched stdlib"
    assert config["scan_level"] == "symbol"
    allowed = allowlist()
    assert reachable - set(allowed) == set(), "reachable, not in the allowlist"
    assert set(allowed) - reachable == set(), "allowlisted but no longer found: remove"


VULNERABLE_MAIN = """package main

import (
\t"fmt"

\t"golang.org/x/text/language"
)

func main() {
\ttags, _, err := language.ParseAcceptLanguage("en-GB,en;q=0.8")
\tfmt.Println(tags, err)
}
"""


def test_the_scan_finds_a_call_to_a_known_vulnerable_function(govulncheck, tmp_path):
    """The check can fail: golang.org/x/text v0.3.7 is in the database as GO-2022-1059
    (language.ParseAcceptLanguage, fixed in v0.3.8), and a module that calls it is reported;
    the same module on v0.3.8 is not."""
    (tmp_path / "main.go").write_text(VULNERABLE_MAIN)
    for version, expected in [("v0.3.7", True), ("v0.3.8", False)]:
        (tmp_path / "go.mod").write_text(
            f"module example.com/vulnerable\n\ngo 1.26\n\nrequire golang.org/x/text {version}\n"
        )
        (tmp_path / "go.sum").unlink(missing_ok=True)
        reachable, _ = scan(govulncheck, tmp_path, mod="mod")  # writes the fixture's go.sum
        assert ("GO-2022-1059" in reachable) == expected, (version, reachable)
