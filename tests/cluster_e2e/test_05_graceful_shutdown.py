"""Graceful shutdown in a real kubelet: deleting a pod makes the kubelet run the preStop hook
(sleep 5) and then send SIGTERM; the service stops being ready, drains (DRAIN_SECONDS), finishes
in-flight requests and exits 0 well before the 30 s grace period ends in SIGKILL. Requests to the
Service meanwhile all succeed."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from cluster_e2e.kube import SERVICES, Cluster, eventually
from cluster_e2e.load import Load


def last_container_state(watch_output: str) -> dict:
    """The last reported state of the pod's first container, from `get -w -o json` output."""
    decoder = json.JSONDecoder()
    text, position, state = watch_output, 0, {}
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return state
        try:
            obj, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:  # the watch was stopped in the middle of an object
            return state
        pod = obj.get("object", obj)
        for status in pod.get("status", {}).get("containerStatuses", []):
            state = status.get("state", state)


@pytest.mark.parametrize("service", SERVICES)
def test_the_kubelet_sigterm_drains_and_exits_cleanly(
    seeded: Cluster, service: str, report, tmp_path
):
    cluster = seeded
    pod = cluster.running_pod(service)
    frontend = f"http://{cluster.service_ip('frontend')}"
    # Both streams go to files: a pipe nobody reads would fill up and stall them.
    log_file, watch_file = tmp_path / "pod.log", tmp_path / "watch.json"
    with log_file.open("w") as out:
        logs = subprocess.Popen(
            cluster.command("-n", "techcommerce-staging", "logs", "-f", pod),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    with watch_file.open("w") as out:
        watch = subprocess.Popen(
            cluster.command("-n", "techcommerce-staging", "get", "pod", pod, "-w", "-o", "json"),
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(1)
    with Load(
        [frontend + "/", frontend + "/health"], concurrency=2, max_seconds=90, pause=0.05
    ) as load:
        started = time.monotonic()
        cluster.kubectl("-n", "techcommerce-staging", "delete", "pod", pod, "--wait=false")
        eventually(
            lambda: (
                cluster.kubectl(
                    "-n", "techcommerce-staging", "get", "pod", pod, check=False
                ).returncode
                != 0
            ),
            timeout=60,
            interval=0.5,
            what=f"pod {pod} to be gone",
        )
        took = time.monotonic() - started
        # replacement Ready before the load stops: the Service never had no endpoint
        cluster.rollout_status(f"deployment/{service}", timeout=180)
    for proc in (watch, logs):
        proc.terminate()
        proc.wait(timeout=10)
    log_text = log_file.read_text()
    final = last_container_state(watch_file.read_text())

    assert load.tally.failed == 0, load.tally.summary()
    assert load.tally.shed == 0, load.tally.summary()
    assert load.tally.ok > 20, load.tally.summary()
    draining = log_text.find("shutdown: not ready, draining")
    closing = log_text.find("shutdown: closing listener")
    done = log_text.find("shutdown: done")
    assert 0 <= draining < closing < done, log_text[-2000:]
    # preStop sleep 5 + DRAIN_SECONDS 5 before the listener closes; no SIGKILL at 30 s.
    assert 10 <= took < 30, took
    assert final.get("terminated", {}).get("exitCode") == 0, final
    report(f"graceful shutdown {service}: pod gone after {took:.1f}s; load {load.tally.summary()}")
