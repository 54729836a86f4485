"""The scripts' real behaviour where it can run here: the secret-file helpers, and the
prerequisite check of a real (not dry) run on a machine without the tools."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from cluster.cluster_lib import REPO, run_script


def helper(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "hack/cluster" / name), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_secret_file_is_random_private_kept_and_never_printed(tmp_path: Path):
    target = tmp_path / "state" / "webhook-secret"
    first = helper("new-secret-file.sh", str(target), "32")
    assert first.returncode == 0, first.stderr
    value = target.read_text()
    assert len(value) == 64 and int(value, 16) >= 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert value not in first.stdout + first.stderr
    again = helper("new-secret-file.sh", str(target), "32")
    assert again.returncode == 0 and "keeping" in again.stderr
    assert target.read_text() == value
    other = tmp_path / "state" / "other"
    assert helper("new-secret-file.sh", str(other)).returncode == 0
    assert other.read_text() != value


def test_registry_auth_is_a_docker_config_for_each_host(tmp_path: Path):
    target = tmp_path / "state" / "registry-config.json"
    proc = helper("new-registry-auth.sh", str(target), "kind-registry:5000", "localhost:5001")
    assert proc.returncode == 0, proc.stderr
    config = json.loads(target.read_text())
    assert set(config["auths"]) == {"kind-registry:5000", "localhost:5001"}
    auth = config["auths"]["localhost:5001"]["auth"]
    user, password = base64.b64decode(auth).decode().split(":")
    assert user == "techcommerce" and len(password) == 48
    assert password not in proc.stdout + proc.stderr and auth not in proc.stdout + proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = target.read_text()
    assert helper("new-registry-auth.sh", str(target), "x:1").returncode == 0
    assert target.read_text() == before


def test_registry_auth_refuses_a_host_that_would_break_the_json(tmp_path: Path):
    proc = helper("new-registry-auth.sh", str(tmp_path / "c.json"), 'evil"host')
    assert proc.returncode == 2
    assert not (tmp_path / "c.json").exists()


def _bare_path(tmp_path: Path, tools: tuple[str, ...] = ()) -> dict[str, str]:
    """A PATH holding only what the script itself needs (dirname) plus TOOLS, as symlinks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("dirname", *tools):
        for directory in os.environ["PATH"].split(os.pathsep):
            candidate = Path(directory) / tool
            if candidate.exists():
                (bin_dir / tool).symlink_to(candidate)
                break
        else:
            pytest.fail(f"{tool} not found")
    return {"PATH": str(bin_dir)}


def test_a_real_run_without_a_container_engine_stops_with_install_hints(tmp_path: Path):
    proc = run_script("cluster-up", env=_bare_path(tmp_path))
    assert proc.returncode == 1
    assert "a container engine is required" in proc.stderr
    assert "https://docs.docker.com/engine/install/" in proc.stderr
    assert "https://podman.io/docs/installation" in proc.stderr
    assert "kind create" not in proc.stderr


def test_a_real_run_without_kind_names_it_and_says_how_to_install(tmp_path: Path):
    """With an engine named on the command line but no kind binary: the kind check fails
    first, with its install page, before anything is created."""
    env = _bare_path(tmp_path, ("true", "uname"))
    (tmp_path / "bin" / "docker").symlink_to(tmp_path / "bin" / "true")
    proc = run_script("cluster-up", env={**env, "CONTAINER_ENGINE": "docker"})
    assert proc.returncode == 1
    assert "kind is required but not installed" in proc.stderr
    assert "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" in proc.stderr
    # the exact command for this platform (Linux here), at the pinned version
    assert "go install sigs.k8s.io/kind@v0.33.0" in proc.stderr
    assert "+ docker run" not in proc.stderr


def install_hint(tool: str, system: str, tmp_path: Path) -> str:
    """cluster-up's install_hint for TOOL, with `uname -s` answering SYSTEM."""
    bin_dir = tmp_path / system
    bin_dir.mkdir(parents=True)
    (bin_dir / "uname").write_text(f"#!/bin/sh\necho {system}\n")
    (bin_dir / "uname").chmod(0o755)
    script = (REPO / "hack/cluster/cluster-up.sh").read_text()
    function = script[
        script.index("install_hint() {") : script.index("\n}\n", script.index("install_hint() {"))
        + 3
    ]
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"set -a; source hack/versions.env; set +a\n{function}\ninstall_hint {tool}",
        ],
        cwd=REPO,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_each_cluster_tool_has_the_install_command_the_docs_show(tmp_path: Path):
    """cluster-up's hints and hack/cluster/README.md's table name the same commands, per
    platform."""
    doc = (REPO / "hack/cluster/README.md").read_text()
    for tool in ("kind", "tkn", "tkn-approvaltask"):
        linux = install_hint(tool, "Linux", tmp_path / tool)
        mac = install_hint(tool, "Darwin", tmp_path / f"{tool}-mac")
        assert linux.startswith("go install ") and "@v" in linux, linux
        assert f"`{linux}`" in doc, f"hack/cluster/README.md does not show {linux}"
        assert mac == linux or f"`{mac}`" in doc, f"hack/cluster/README.md does not show {mac}"
