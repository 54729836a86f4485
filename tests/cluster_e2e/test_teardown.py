"""After `make e2e` tore the cluster down, nothing of it is left on the machine: no process, no
mount, no network namespace, no cgroup, no iptables rule in the host's tables that was not there
before, no global sysctl kubelet changed, no runtime directory. Runs only after the teardown
(hack/e2e/run.sh sets TECHCOMMERCE_E2E_TORN_DOWN=1); the bring-up recorded the "before" state
under /run/techcommerce-e2e."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

STATE = Path(os.environ.get("E2E_STATE", "/run/techcommerce-e2e"))
NETNS = "techcommerce-e2e"
CGROUP = "techcommerce-e2e"


def test_no_process_of_the_cluster_runs():
    leftovers = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            words = Path(cmdline).read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(words).decode(errors="replace")
        if "/tmp/techcommerce-e2e." in text or "techcommerce-e2e/containerd" in text:
            leftovers.append(text[:200])
    assert leftovers == []


def test_no_runtime_directory_or_state_pointer_is_left():
    assert glob.glob("/tmp/techcommerce-e2e.*") == []
    assert not (STATE / "run-dir").exists()


def test_no_network_namespace_is_left():
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert NETNS not in names.stdout.split()


def test_no_mount_of_the_cluster_is_left():
    mounts = Path("/proc/self/mountinfo").read_text()
    assert "techcommerce-e2e" not in mounts
    assert f"/run/netns/{NETNS}" not in mounts


def test_no_cgroup_is_left():
    assert glob.glob(f"/sys/fs/cgroup/*/{CGROUP}") == []


def test_global_sysctls_are_restored():
    before = dict(
        line.split("=", 1) for line in (STATE / "sysctl-before").read_text().splitlines() if line
    )
    assert before, "the bring-up recorded no sysctls"
    now = {
        key: subprocess.run(["sysctl", "-n", key], capture_output=True, text=True).stdout.strip()
        for key in before
    }
    assert now == before


def test_no_iptables_rule_of_the_cluster_is_left_in_the_host_tables():
    """Every rule of the cluster lived in its own network namespace. The host's tables may change
    for other reasons (other tools on the machine), so only rules that name the cluster's chains,
    bridge or address ranges count, and only if they were not there before."""
    before = set((STATE / "iptables-before").read_text().splitlines())
    dump = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
    marks = ("KUBE-", "KUBE_", "cni0", "10.89.0.", "10.97.0.", "10.201.0.", "kube-router")
    new = [
        line
        for line in dump.splitlines()
        if line
        and not line.startswith(("#", ":"))
        and line not in before
        and any(mark in line for mark in marks)
    ]
    assert new == []
