"""The README's commands, run in order on a clean clone, as a newcomer types them.

Every ```sh block of README.md is run unless the line right before it is the marker
`<!-- readme-test: skip: WHY -->` (WHY: what it needs that a test run does not have, such as a
kind cluster or root for a cluster built from source). Each command (comment stripped,
continued lines joined) runs with bash in a `git clone` of this repository's HEAD, in README
order, and must exit 0 within its time limit. Two commands follow a rule instead of a plain run,
because running them as written cannot work inside this suite:

- `make test` runs this very suite: run as written, it would recurse (and take the whole CI
  time). It runs `make lint` instead, the step `make test` takes before pytest; `make test`'s
  other step, setup, is what built the environment this run already uses.
- `make run` serves until Ctrl-C: it is started (on free ports, which it documents as
  PRODUCT_API_PORT, ORDER_API_PORT, FRONTEND_PORT), must print `ready`, the shop must answer on
  its URL, and Ctrl-C (SIGINT to its process group, as a terminal sends it) must stop everything
  with `run: stopped` and free the ports.

The clone shares this checkout's installed tools rather than downloading them again (installing
them is `make setup`'s job, which this run has done): its `.venv` links to this checkout's
entries with its own requirements stamp, written only when every pin of the clone is installed
(else the test is skipped: this checkout has uncommitted requirement changes), and the built
Tekton validator is linked (its wrapper rebuilds into the clone when the sources differ, never
overwriting the original).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from support.commands import run_command

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"^<!-- readme-test: skip: (\S.*?) -->$")
COMMAND_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    commands: tuple[str, ...]
    skip: str | None  # the reason, when marked


def shell_blocks(text: str) -> list[Block]:
    """The ```sh blocks of a Markdown text, with their commands and skip markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            if "readme-test:" in lines[i] and lines[i].startswith("<!-- readme-test:"):
                assert SKIP.match(lines[i]), f"line {i + 1}: malformed marker {lines[i]!r}"
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                assert FENCE.match(nxt), f"line {i + 1}: a marker must precede a code block"
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if fence.group(1) in ("sh", "bash", "shell"):
            marker = SKIP.match(lines[i - 1]) if i > 0 else None
            blocks.append(
                Block(i + 1, commands(lines[i + 1 : end]), marker.group(1) if marker else None)
            )
        i = end + 1
    return blocks


def commands(lines: list[str]) -> tuple[str, ...]:
    """Command lines without comments; a line ending in a backslash continues on the next."""
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = pending + line
        pending = ""
        if line:
            out.append(line)
    return tuple(out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_plain(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """None when the command exits 0, else what went wrong."""
    try:
        result = run_command(
            ["bash", "-c", command], cwd=cwd, env=env, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {COMMAND_TIMEOUT_SECONDS} s"
    if result.returncode != 0:
        return f"exit {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return None


def run_make_test(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """`make test` without recursing into this suite: its lint step (module docstring)."""
    return run_plain("make lint", cwd, env)


def run_make_run(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Start, wait for `ready`, fetch the shop, Ctrl-C, expect a clean stop (module docstring)."""
    ports = {name: free_port() for name in ("PRODUCT_API_PORT", "ORDER_API_PORT", "FRONTEND_PORT")}
    env = {**env, **{k: str(v) for k, v in ports.items()}}
    log = cwd.parent / f"{cwd.name}-make-run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    problem = None
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while "ready" not in log.read_text().splitlines():
            if process.poll() is not None:
                return f"exited {process.returncode} before ready:\n{log.read_text()[-3000:]}"
            if time.monotonic() > deadline:
                return f"not ready within {READY_TIMEOUT_SECONDS} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        url = f"http://127.0.0.1:{ports['FRONTEND_PORT']}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
            if response.status != 200 or "<html" not in page.lower():
                problem = f"{url} answered {response.status} without a page"
    except OSError as err:
        problem = f"the shop did not answer: {err}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            problem = problem or "Ctrl-C did not stop it within 60 s"
    text = log.read_text()
    if problem:
        return f"{problem}\n{text[-3000:]}"
    if "run: stopped" not in text:
        return f"Ctrl-C did not stop it cleanly:\n{text[-3000:]}"
    still = [name for name, port in ports.items() if listening(port)]
    if still:
        return f"still listening after Ctrl-C: {still}"
    return None


RULES: dict[str, Callable[[str, Path, dict[str, str]], str | None]] = {
    "make test": run_make_test,
    "make run": run_make_run,
}


def run_readme(text: str, cwd: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    """Run every command of every unmarked block in order: (commands run, failures)."""
    ran: list[str] = []
    failures: list[str] = []
    for block in shell_blocks(text):
        if block.skip:
            continue
        for command in block.commands:
            ran.append(command)
            problem = RULES.get(command, run_plain)(command, cwd, env)
            if problem:
                failures.append(f"README line {block.line}: `{command}`: {problem}")
    return ran, failures


def pins(checkout: Path) -> list[str]:
    """Every `name==version` the checkout's requirement files pin."""
    found: list[str] = []
    for name in ("services/requirements.txt", "tests/requirements.txt"):
        for line in (checkout / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                found.append(line.split(";", 1)[0].strip())
    return found


def installed(pin: str) -> bool:
    name, version = pin.split("==", 1)
    try:
        return metadata.version(name.split("[", 1)[0]) == version
    except metadata.PackageNotFoundError:
        return False


def clean_env() -> dict[str, str]:
    drop = ("DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH", "PRODUCT_API_PORT", "ORDER_API_PORT")
    return {k: v for k, v in os.environ.items() if k not in drop and k != "FRONTEND_PORT"}


@pytest.fixture
def clone(tmp_path) -> Path:
    """A `git clone` of this repository's HEAD that shares the installed tools (docstring)."""
    target = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    missing = [pin for pin in pins(target) if not installed(pin)]
    if missing:
        pytest.skip(f"this checkout's .venv lacks HEAD's pins {missing} (uncommitted changes?)")
    # Its own .venv directory whose entries are this checkout's, with its own stamp: setup.sh
    # then finds the clone's requirements installed and installs nothing.
    venv = target / ".venv"
    venv.mkdir()
    for entry in (ROOT / ".venv").iterdir():
        if entry.name != ".requirements.sha256":
            (venv / entry.name).symlink_to(entry)
    stamp = subprocess.run(
        "cat services/requirements.txt tests/requirements.txt | sha256sum | cut -d' ' -f1",
        shell=True,
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (venv / ".requirements.sha256").write_text(stamp)
    tools = ROOT / ".venv-tools" / "bin"
    if (tools / "tekton-validate").exists():
        (target / ".venv-tools" / "bin").mkdir(parents=True)
        (target / ".venv-tools" / "bin" / "tekton-validate").symlink_to(tools / "tekton-validate")
        shutil.copy2(tools / ".tekton-validate.sha256", target / ".venv-tools" / "bin")
    return target


def test_the_readme_commands_that_need_no_cluster_work_in_order_on_a_clean_clone(clone):
    ran, failures = run_readme((clone / "README.md").read_text(), clone, clean_env())
    assert failures == []
    # The front door is run, not marked away: the quick start and the cluster-free checks.
    for command in ("make run", "make test", "kubectl kustomize manifests/overlays/staging"):
        assert command in ran
    # and the clone is still clean: nothing a command wrote is something git would commit.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert status == []


def test_every_skipped_block_says_why_and_the_rest_is_run():
    blocks = shell_blocks(README.read_text())
    skipped = [b for b in blocks if b.skip]
    assert skipped, "no block is marked: the marker is stale?"
    assert all(len(b.skip) > 10 for b in skipped)
    assert [b for b in blocks if not b.skip]


def test_a_failing_command_fails_the_run_and_a_marked_block_is_not_run(tmp_path):
    text = "\n".join(
        [
            "```sh",
            "touch first   # comments go",
            "echo a \\",
            "  b > joined",
            "```",
            "<!-- readme-test: skip: would fail here, and must not run -->",
            "```sh",
            "touch skipped && false",
            "```",
            "```sh",
            "hack/no-such-command --help",
            "touch last",
            "```",
        ]
    )
    ran, failures = run_readme(text, tmp_path, clean_env())
    assert ran == ["touch first", "echo a b > joined", "hack/no-such-command --help", "touch last"]
    assert len(failures) == 1 and "`hack/no-such-command --help`: exit 127" in failures[0]
    assert (tmp_path / "joined").read_text() == "a b\n"
    assert not (tmp_path / "skipped").exists() and (tmp_path / "last").exists()


def test_a_malformed_marker_is_refused():
    with pytest.raises(AssertionError, match="malformed marker"):
        shell_blocks("<!-- readme-test: skipp: typo -->\n```sh\ntrue\n```\n")
    with pytest.raises(AssertionError, match="must precede a code block"):
        shell_blocks("<!-- readme-test: skip: a reason here -->\ntext\n```sh\ntrue\n```\n")
