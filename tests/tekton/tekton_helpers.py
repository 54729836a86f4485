"""Helpers for the Tekton tests: paths, running commands, editing copies, a local HTTP server
that records what a script sends."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import NamedTuple

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


class Received(NamedTuple):
    """A request a recording server received."""

    path: str
    headers: Message  # case-insensitive, as HTTP headers are
    body: bytes


@contextlib.contextmanager
def recording_server(status: int, reply: bytes = b"") -> Iterator[tuple[str, list[Received]]]:
    """A local HTTP server that records every POST and answers it with STATUS and REPLY; yields
    its URL and the list of what it received."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(Received(self.path, self.headers, body))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    with serving(HTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url, received


@contextlib.contextmanager
def serving(server: HTTPServer) -> Iterator[str]:
    """SERVER (bound to loopback) answering on a thread for the block; yields its base URL."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
