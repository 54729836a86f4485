"""Running a command a test needs (kubectl, podman, ...), its output captured as text."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class CommandFailed(AssertionError):
    """A command a test needed exited non-zero; the message says which and what it printed."""


def run_command(
    command: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    name: str | None = None,
    error: type[AssertionError] = CommandFailed,
) -> subprocess.CompletedProcess[str]:
    """COMMAND's result. With `check`, a non-zero exit raises ERROR, naming the command as
    NAME (default: the command line) with its status and output."""
    proc = subprocess.run(
        list(command),
        input=input,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise error(
            f"{name or ' '.join(command)} failed ({proc.returncode}):\n"
            f"{proc.stdout}\n{proc.stderr}".rstrip()
        )
    return proc
