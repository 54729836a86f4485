"""Helpers for the Tekton tests: paths, running commands, editing copies."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEKTON = ROOT / "tekton"
SCRIPTS = TEKTON / "scripts"
TOOLS = ROOT / ".venv-tools"
VALIDATOR = TOOLS / "bin" / "tekton-validate"
TEKTON_LINT = TOOLS / "tekton-lint" / "node_modules" / ".bin" / "tekton-lint"
MISSING = "missing: run hack/deps/tekton.sh (make test runs it)"


def run(cmd, *, env=None, cwd=None, check=False, timeout=120) -> subprocess.CompletedProcess:
    """Run a command, capturing text output; env entries are added to os.environ."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [str(c) for c in cmd],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a file, insisting the text is there (a test must break what it says)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))
