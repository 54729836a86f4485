"""shellcheck passes on every shell script of the repository: *.sh files and files with a sh or
bash shebang under hack/, tekton/ and .ci/ (virtualenvs and node_modules excluded). Scripts are
checked with -x, so what they source is followed and checked in context."""

from __future__ import annotations

import shutil
import subprocess

from cluster.cluster_lib import REPO, shell_scripts


def test_the_script_finder_sees_every_kind_of_script():
    found = {p.relative_to(REPO).as_posix() for p in shell_scripts()}
    # Extension-less bash scripts, *.sh, a sourced library and the CI entry point.
    for expected in (
        "hack/cluster-up",
        "hack/cluster-down",
        "hack/cluster/cluster-up.sh",
        "hack/gen-secrets.sh",
        "hack/cluster/common.sh",
        ".ci/run",
    ):
        assert expected in found
    assert not any(".venv" in f or "node_modules" in f for f in found)
    assert not any(f.endswith((".py", ".yaml", ".md")) for f in found)


def test_shellcheck_passes_on_every_shell_script():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck missing: hack/dev/deps/cluster.sh installs it"
    scripts = shell_scripts()
    failing = {}
    for script in scripts:
        rel = script.relative_to(REPO).as_posix()
        proc = subprocess.run(
            [shellcheck, "-x", rel],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            failing[rel] = proc.stdout.strip()
    assert not failing, "shellcheck fails on:\n\n" + "\n\n".join(
        f"{name}:\n{out}" for name, out in sorted(failing.items())
    )
