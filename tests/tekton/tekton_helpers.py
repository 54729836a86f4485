"""Helpers for the Tekton tests: paths, running commands, editing copies."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support.commands import run_command

ROOT = Path(__file__).resolve().parents[2]
TEKTON = ROOT / "tekton"
SCRIPTS = TEKTON / "scripts"
TOOLS = ROOT / ".venv-tools"
VALIDATOR = ROOT / "hack" / "tekton-validate"  # the command: builds the Go binary when needed
GO_VALIDATOR = ROOT / "hack" / "tools" / "tekton-validate"  # the validator's Go module
TEKTON_LINT = TOOLS / "tekton-lint" / "node_modules" / ".bin" / "tekton-lint"
MISSING = "missing: run hack/dev/deps/tekton.sh (make test runs it)"


def go_env() -> dict[str, str]:
    """The environment of the project's Go commands: the patched toolchain its go.mod names."""
    toolchain = re.search(r"^toolchain (\S+)$", (GO_VALIDATOR / "go.mod").read_text(), re.M)
    assert toolchain, "go.mod names no toolchain"
    return {"GOTOOLCHAIN": toolchain[1]}


def run(cmd, *, env=None, cwd=None, check=False, timeout=120) -> subprocess.CompletedProcess:
    """Run a command, capturing text output; env entries are added to os.environ."""
    return run_command(
        [str(c) for c in cmd],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=check,
        timeout=timeout,
    )


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a file, insisting the text is there (a test must break what it says)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))
