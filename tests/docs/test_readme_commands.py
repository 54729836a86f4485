"""The commands of every README, run in order on a clean clone, as a newcomer types them.

Every README.md of the repository is covered: git finds them (tracked, or new and not ignored)
at any depth, none is listed by hand, so a README added anywhere has its blocks checked the
moment it exists and run once it is committed (the clone is HEAD). The root README runs first,
then the others by path. Every README's commands are written to run from the repository
root, where a newcomer stands after `git clone` and `cd`: each runs there.

Every code block names its language, and a block of commands is ```sh: an unlabelled block and
```bash/```shell/```console are refused, so no block of commands hides from the run. Every
```sh block is run unless the line right before it is the marker
`<!-- readme-test: skip: WHY -->` (WHY: what it needs that a test run does not have, such as a
cluster, a service it talks to or serves, or a tool the suite does not install). Each command
(comment stripped; a line ending in a backslash, `&&`, `||` or `|` continues on the next) runs
with bash in a `git clone` of this repository's HEAD, in README order, and must exit 0 within
its time limit; after each README the clone must still be clean for git. The clone is shared
by the READMEs of one run. Three kinds of command follow a rule instead of a plain run, because
running them as written cannot work inside this suite:

- `make test` runs this very suite: run as written, it would recurse (and take the whole CI
  time). It runs `make lint` instead, the step `make test` takes before pytest; `make test`'s
  other step, setup, is what built the environment this run already uses.
- `make run` serves until Ctrl-C: it is started (on free ports, which it documents as
  PRODUCT_API_PORT, ORDER_API_PORT, FRONTEND_PORT), must print `ready`, the shop must answer on
  its URL, and Ctrl-C (SIGINT to its process group, as a terminal sends it) must stop everything
  with `run: stopped` and free the ports.
- `.venv/bin/python -m pytest PATH...` runs tests this suite runs anyway: it is collected
  (`--collect-only`), which proves the paths exist, the modules import and hold tests (pytest
  exits 5 when it collects none), without running them twice.

The clone shares this checkout's installed tools rather than downloading them again (installing
them is `make setup`'s job, which this run has done): its `.venv` links to this checkout's
entries with its own requirements stamp, written only when every pin of the clone is installed
(else the test is skipped: this checkout has uncommitted requirement changes), and the built
Tekton validator is linked (its wrapper rebuilds into the clone when the sources differ, never
overwriting the original). KUBECONFIG names no reachable cluster (a closed port on loopback):
a command that needs a cluster and lost its marker fails instead of acting on a real one.
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
from support.readmes import readmes

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^ {0,3}(```|~~~)\s*([^\s`]*)")
SKIP = re.compile(r"^<!-- readme-test: skip: (\S.*?) -->$")
SHELL = "sh"  # the one language of a block of commands
OTHER_SHELLS = {"bash", "shell", "console", "zsh", "shell-session", "shellsession", "terminal"}
CONTINUED = ("\\", "&&", "||", "|")
PYTEST = ".venv/bin/python -m pytest "
COMMAND_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 120

# What a README must keep running rather than mark away: its cluster-free front door.
MUST_RUN = {
    "README.md": ("make run", "make test", "kubectl kustomize manifests/overlays/staging"),
    "manifests/README.md": ("hack/gen-secrets.sh manifests/overlays/staging",),
    "monitoring/README.md": (
        "promtool check rules monitoring/prometheus/rules/*.yml",
        "promtool test rules monitoring/prometheus/tests/*.test.yml",
        "amtool check-config monitoring/alertmanager/alertmanager.yml",
        "kubectl kustomize monitoring/kubernetes",
        ".venv/bin/python monitoring/prometheus/slo_rules.py --check",
    ),
    "tekton/README.md": (
        "hack/tekton-validate check tekton/",
        ".venv/bin/python tekton/scripts/embed.py --check",
    ),
}


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    commands: tuple[str, ...]
    skip: str | None  # the reason, when marked


def shell_blocks(text: str) -> list[Block]:
    """The ```sh blocks of a Markdown text, with their commands and skip markers; refuses a code
    block that names no language or names another shell, and a malformed or misplaced marker."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].startswith("<!-- readme-test:"):
                assert SKIP.match(lines[i]), f"line {i + 1}: malformed marker {lines[i]!r}"
                nxt = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
                assert nxt and nxt.group(2) == SHELL, (
                    f"line {i + 1}: a marker must precede a ```{SHELL} block"
                )
            i += 1
            continue
        mark, language = fence.group(1), fence.group(2).lower()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == mark), None)
        assert end is not None, f"line {i + 1}: the code block is never closed"
        assert language, (
            f"line {i + 1}: a code block names its language "
            f"(```{SHELL} for commands, ```text for anything else that is plain)"
        )
        assert language not in OTHER_SHELLS, (
            f"line {i + 1}: ```{language}: a block of commands is ```{SHELL} (one way)"
        )
        if language == SHELL:
            marker = SKIP.match(lines[i - 1]) if i > 0 else None
            blocks.append(
                Block(i + 1, commands(lines[i + 1 : end]), marker.group(1) if marker else None)
            )
        i = end + 1
    return blocks


def commands(lines: list[str]) -> tuple[str, ...]:
    """Command lines without comments; a line ending in a backslash, `&&`, `||` or `|`
    continues on the next, as bash reads it."""
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line.endswith(CONTINUED):
            pending += (line[:-1].rstrip() if line.endswith("\\") else line) + " "
            continue
        line = pending + line
        pending = ""
        if line:
            out.append(line)
    assert not pending, f"the last command continues into nothing: {pending!r}"
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


def run_pytest_collected(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Tests this suite runs itself: collected, not run twice (module docstring)."""
    return run_plain(f"{command} --collect-only -q", cwd, env)


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


Runner = Callable[[str, Path, dict[str, str]], "str | None"]
RULES: dict[str, Runner] = {
    "make test": run_make_test,
    "make run": run_make_run,
}


def runner_for(command: str) -> Runner:
    """How a command runs: its rule (module docstring), else as written."""
    if command.startswith(PYTEST):
        return run_pytest_collected
    return RULES.get(command, run_plain)


def run_readme(
    text: str, cwd: Path, env: dict[str, str], name: str = "README"
) -> tuple[list[str], list[str]]:
    """Run every command of every unmarked block in order: (commands run, failures)."""
    ran: list[str] = []
    failures: list[str] = []
    for block in shell_blocks(text):
        if block.skip:
            continue
        for command in block.commands:
            ran.append(command)
            problem = runner_for(command)(command, cwd, env)
            if problem:
                failures.append(f"{name} line {block.line}: `{command}`: {problem}")
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


# The only cluster a README command may reach: none (a closed port on loopback), so a command
# that needs a cluster and lost its marker fails here instead of acting on the user's cluster.
NO_CLUSTER = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def git_status(checkout: Path) -> list[str]:
    """What git would commit: changed and untracked files that are not ignored."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A `git clone` of this repository's HEAD that shares the installed tools (docstring)."""
    target = tmp_path_factory.mktemp("readme") / "clone"
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
    (target.parent / "kubeconfig").write_text(NO_CLUSTER)
    tools = ROOT / ".venv-tools" / "bin"
    if (tools / "tekton-validate").exists():
        (target / ".venv-tools" / "bin").mkdir(parents=True)
        (target / ".venv-tools" / "bin" / "tekton-validate").symlink_to(tools / "tekton-validate")
        shutil.copy2(tools / ".tekton-validate.sha256", target / ".venv-tools" / "bin")
    return target


def has_commands(name: str) -> bool:
    try:
        return bool(shell_blocks((ROOT / name).read_text()))
    except AssertionError:
        return True  # refused: its run fails with the reason, as does the language test


READMES = readmes(ROOT)
WITH_COMMANDS = [name for name in READMES if has_commands(name)]


@pytest.mark.parametrize("name", WITH_COMMANDS)
def test_the_commands_of_every_readme_work_in_order_on_a_clean_clone(clone, name):
    if not (clone / name).exists():
        pytest.skip(f"{name} is not committed: the clone is HEAD")
    env = {**clean_env(), "KUBECONFIG": str(clone.parent / "kubeconfig")}
    ran, failures = run_readme((clone / name).read_text(), clone, env, name)
    assert failures == []
    for command in MUST_RUN.get(name, ()):
        assert command in ran, f"{name}: `{command}` is no longer run (marked away or reworded?)"
    # and the clone is still clean: nothing a command wrote is something git would commit.
    assert git_status(clone) == []


@pytest.mark.parametrize("name", READMES)
def test_every_code_block_names_its_language_and_every_skipped_block_says_why(name):
    for block in shell_blocks((ROOT / name).read_text()):
        assert block.skip is None or len(block.skip) > 20, f"{name} line {block.line}: why?"


def test_the_front_doors_named_as_must_run_are_readmes_with_commands():
    assert set(MUST_RUN) <= set(WITH_COMMANDS)
    assert READMES[0] == "README.md"


def test_every_readme_is_found_nested_or_new_and_none_that_git_ignores(tmp_path):
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    files = {
        "README.md": "# root\n",
        "docs/deep/README.md": "```sh\nno-such-tool --apply\n```\n",
        "other/readme.md": "```\nkubectl apply -f x.yaml\n```\n",
        "ignored/README.md": "```sh\nfalse\n```\n",
        "notes/GUIDE.md": "```sh\nfalse\n```\n",
        ".gitignore": "ignored/\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    # Neither committed nor staged: a README is found the moment it exists.
    assert readmes(tmp_path) == ["README.md", "docs/deep/README.md", "other/readme.md"]
    # The new README's unmarked command runs and fails the run; the unlabelled block is refused.
    ran, failures = run_readme(files["docs/deep/README.md"], tmp_path, clean_env())
    assert ran == ["no-such-tool --apply"] and "exit 127" in failures[0]
    with pytest.raises(AssertionError, match="names its language"):
        shell_blocks(files["other/readme.md"])
    # This repository: the nested READMEs are found, nothing from an ignored folder.
    assert {"tekton/tasks/approval/README.md", "services/frontend/README.md"} <= set(READMES)
    assert not [n for n in READMES if n.startswith((".venv", "node_modules", ".pytest_cache"))]


def test_a_failing_command_fails_the_run_and_a_marked_block_is_not_run(tmp_path):
    text = "\n".join(
        [
            "```sh",
            "touch first   # comments go",
            "echo a \\",
            "  b > joined",
            "true &&",
            "  echo c |",
            "  cat > piped",
            "```",
            "<!-- readme-test: skip: would fail here, and must not run -->",
            "```sh",
            "touch skipped && false",
            "```",
            "```yaml",
            "key: value   # not commands",
            "```",
            "```sh",
            "hack/no-such-command --help",
            "touch last",
            "```",
        ]
    )
    ran, failures = run_readme(text, tmp_path, clean_env())
    assert ran == [
        "touch first",
        "echo a b > joined",
        "true && echo c | cat > piped",
        "hack/no-such-command --help",
        "touch last",
    ]
    assert len(failures) == 1 and "`hack/no-such-command --help`: exit 127" in failures[0]
    assert (tmp_path / "joined").read_text() == "a b\n"
    assert (tmp_path / "piped").read_text() == "c\n"
    assert not (tmp_path / "skipped").exists() and (tmp_path / "last").exists()


def test_a_pytest_command_is_collected_not_run_and_fails_when_its_path_is_wrong(tmp_path):
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "test_fails.py").write_text("def test_fails():\n    assert False\n")
    command = f"{PYTEST}checks"
    assert runner_for(command) is run_pytest_collected
    assert runner_for("make run") is run_make_run and runner_for("ls") is run_plain
    assert run_pytest_collected(command, tmp_path, clean_env()) is None
    assert "exit 4" in (run_pytest_collected(f"{PYTEST}chekcs", tmp_path, clean_env()) or "")


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("<!-- readme-test: skipp: typo -->\n```sh\ntrue\n```\n", "malformed marker"),
        ("<!-- readme-test: skip: a reason here -->\ntext\n```sh\ntrue\n```\n", "must precede"),
        ("<!-- readme-test: skip: a reason here -->\n```yaml\na: 1\n```\n", "must precede"),
        ("```\nmake run\n```\n", "names its language"),
        ("```bash\nmake run\n```\n", "is ```sh"),
        ("   ~~~shell\nmake run\n   ~~~\n", "is ```sh"),
        ("```sh\nmake run\n", "never closed"),
        ("```sh\nmake run \\\n```\n", "continues into nothing"),
    ],
)
def test_a_block_that_could_hide_commands_and_a_malformed_marker_are_refused(text, refusal):
    with pytest.raises(AssertionError, match=re.escape(refusal)):
        shell_blocks(text)
