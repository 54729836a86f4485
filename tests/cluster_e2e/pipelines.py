"""Helpers of the live Tekton scenarios: the EventListener and signed deliveries
(hack/send-webhook), commits pushed to the cluster's git server, PipelineRuns and their
TaskRuns."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cluster_e2e.kube import REPO, Cluster, eventually

CI = "techcommerce-ci"
TKN_ENV = "TECHCOMMERCE_E2E_TKN"  # set by make e2e
SAMPLES = REPO / "tests/tekton/webhooks"
ZERO = "0" * 40  # git's name for "no commit" (a new branch's before)


@dataclass(frozen=True)
class Listener:
    """The EventListener's address inside the cluster's network and the webhook secret."""

    url: str
    secret: Path


def listener(cluster: Cluster, folder: Path) -> Listener:
    found = cluster.get("eventlisteners", namespace=CI)["items"][0]
    conditions = {c["type"]: c["status"] for c in found["status"].get("conditions", [])}
    assert conditions.get("Ready") == "True", found["status"]
    url = found["status"]["address"]["url"]  # http://el-NAME.techcommerce-ci.svc.cluster.local:PORT
    service = url.split("//", 1)[1].split(".", 1)[0]
    secret = folder / "webhook-secret"
    secret.write_bytes(
        base64.b64decode(
            cluster.get("secret/github-webhook-secret", namespace=CI)["data"]["secret"]
        )
    )
    return Listener(
        f"http://{cluster.service_ip(service, namespace=CI)}:{url.rsplit(':', 1)[1]}", secret
    )


def send(
    target: Listener, *, sample: str = "", payload: dict | None = None, event: str = "",
    secret: Path | None = None,
) -> str:  # fmt: skip
    """Deliver a sample (tests/tekton/webhooks) or PAYLOAD signed with the webhook secret (or
    SECRET); hack/send-webhook's answer line: the listener's status code and body."""
    command = [str(REPO / "hack/send-webhook"), target.url]
    if payload is not None:
        body = target.secret.parent / f"delivery-{time.monotonic_ns()}.json"
        body.write_text(json.dumps(payload))
        command += ["--payload", str(body), "--event", event]
    else:
        command += ["--sample", sample]
    command += ["--secret-file", str(secret or target.secret)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    answer = (proc.stdout + proc.stderr).strip()
    assert re.match(r"\d{3} ", answer), (sample or event, answer)
    return answer


def cluster_settings(cluster: Cluster) -> dict[str, str]:
    """The cluster's settings: the params of the TriggerBinding techcommerce-cluster."""
    binding = cluster.get("triggerbinding", "techcommerce-cluster", namespace=CI)
    return {param["name"]: param["value"] for param in binding["spec"]["params"]}


def tkn(cluster: Cluster, *args: str) -> str:
    """Run the Tekton CLI against the cluster from the repository's root: its output."""
    proc = subprocess.run(
        [os.environ[TKN_ENV], "--kubeconfig", str(cluster.kubeconfig), *args, "-n", CI],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def tkn_start(cluster: Cluster, pipeline: str, params: dict[str, str], *workspaces: str) -> str:
    """`tkn pipeline start PIPELINE` as tekton/README.md starts it (service account
    techcommerce-cd, the other params' defaults) with PARAMS and WORKSPACES (tkn's -w specs): the
    PipelineRun's name."""
    out = tkn(
        cluster, "pipeline", "start", pipeline,
        *(f"-p={name}={value}" for name, value in params.items()),
        *(f"-w={workspace}" for workspace in workspaces),
        "--serviceaccount", "techcommerce-cd", "--use-param-defaults",
    )  # fmt: skip
    match = re.search(r"PipelineRun started: (\S+)", out)
    assert match, out
    return match.group(1)


def pipelineruns(cluster: Cluster, selector: str = "") -> dict[str, dict]:
    args = ["pipelineruns"] + ([f"-l={selector}"] if selector else [])
    return {o["metadata"]["name"]: o for o in cluster.get(*args, namespace=CI)["items"]}


def new_run(cluster: Cluster, before: set[str], timeout: float = 60) -> dict:
    """The one PipelineRun that appeared since BEFORE (names)."""
    started = eventually(
        lambda: {n: o for n, o in pipelineruns(cluster).items() if n not in before},
        timeout,
        what="the PipelineRun of a delivery",
    )
    assert len(started) == 1, list(started)
    return next(iter(started.values()))


def succeeded(obj: dict) -> str | None:
    """The Succeeded condition's status of a run: "True", "False", "Unknown" or None."""
    for condition in obj.get("status", {}).get("conditions", []):
        if condition["type"] == "Succeeded":
            return condition["status"]
    return None


def task_runs(cluster: Cluster, run: str) -> dict[str, list[dict]]:
    """The TaskRuns of PipelineRun RUN by pipeline task (a matrix task has several)."""
    out: dict[str, list[dict]] = {}
    for item in cluster.get(f"-l=tekton.dev/pipelineRun={run}", "taskruns", namespace=CI)["items"]:
        out.setdefault(item["metadata"]["labels"]["tekton.dev/pipelineTask"], []).append(item)
    return out


def outcome(cluster: Cluster, run: str) -> dict[str, str]:
    """{pipeline task: Succeeded status} of RUN's TaskRuns and its CustomRuns (the approval)."""
    states = {
        task: ",".join(sorted(str(succeeded(r)) for r in runs))
        for task, runs in task_runs(cluster, run).items()
    }
    for item in cluster.get(f"-l=tekton.dev/pipelineRun={run}", "customruns", namespace=CI)[
        "items"
    ]:
        states[item["metadata"]["labels"]["tekton.dev/pipelineTask"]] = str(succeeded(item))
    return states


def logs(cluster: Cluster, run: str, tail: int = 60) -> str:
    return cluster.kubectl(
        "-n", CI, "logs", f"-l=tekton.dev/pipelineRun={run}", "--all-containers",
        f"--tail={tail}", "--prefix", "--max-log-requests=20", check=False,
    ).stdout  # fmt: skip


def wait_finished(cluster: Cluster, run: str, timeout: float) -> dict:
    """The PipelineRun once it has finished (either way)."""
    return eventually(
        lambda: (lambda o: o if succeeded(o) in ("True", "False") else None)(
            cluster.get("pipelinerun", run, namespace=CI)
        ),
        timeout,
        interval=10,
        what=f"PipelineRun {run} to finish",
    )


def wait_task(cluster: Cluster, run: str, task: str, timeout: float) -> str:
    """Wait until pipeline task TASK of RUN exists and is running or done; fail early with the
    run's logs when the PipelineRun finished without reaching it."""

    def reached():
        states = outcome(cluster, run)
        if task in states:
            return states
        if succeeded(cluster.get("pipelinerun", run, namespace=CI)) in ("True", "False"):
            pytest.fail(f"{run} finished before {task}: {states}\n{logs(cluster, run)}")
        return None

    return eventually(reached, timeout, interval=10, what=f"{run} to reach {task}")[task]


def results(taskrun: dict) -> dict[str, str]:
    return {r["name"]: r["value"] for r in taskrun["status"].get("results", [])}


class GitServer:
    """A working clone of the cluster's git server (git://NODE/techcommerce.git): commit and push
    as a developer would."""

    def __init__(self, cluster: Cluster, folder: Path):
        self.url = f"git://{cluster.node_address}/techcommerce.git"
        self.work = folder / "techcommerce"
        self.git("clone", "--quiet", self.url, str(self.work), cwd=folder)
        self.git("config", "user.email", "e2e@techcommerce.invalid")
        self.git("config", "user.name", "e2e")

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.work, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, (args, proc.stderr)
        return proc.stdout.strip()

    def head(self, branch: str) -> str:
        out = self.git("ls-remote", self.url, f"refs/heads/{branch}")
        return out.split()[0] if out else ZERO

    def commit(
        self,
        branch: str,
        edits: dict[str, Callable[[str], str]],
        message: str,
        start: str | None = None,
    ) -> tuple[str, str]:
        """Edit files (path -> function of the old text, "" for a new file, to the new text) on
        top of START (default: BRANCH at the server, or main when the branch is new), commit and
        push to BRANCH: (BRANCH's commit before, after)."""
        before = self.head(branch)
        start = start or (before if before != ZERO else self.head("main"))
        self.git("fetch", "--quiet", self.url, start)
        self.git("checkout", "--quiet", "--detach", start)
        for path, edit in edits.items():
            file = self.work / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(edit(file.read_text() if file.exists() else ""))
            self.git("add", path)
        self.git("commit", "--quiet", "-m", message)
        after = self.git("rev-parse", "HEAD")
        self.git("push", "--quiet", self.url, f"HEAD:refs/heads/{branch}")
        return before, after


def push_payload(git: GitServer, branch: str, before: str, after: str, changed: list[str]) -> dict:
    """A GitHub push delivery for that push (the shape of tests/tekton/webhooks' samples), with
    the cluster's git server as the repository to clone."""
    payload = json.loads((SAMPLES / "push-main-one-service.json").read_text())
    commit = dict(payload["commits"][0], id=after, added=[], removed=[], modified=changed)
    payload.update(
        ref=f"refs/heads/{branch}", before=before, after=after, commits=[commit],
        head_commit=commit, created=before == ZERO,
    )  # fmt: skip
    payload["repository"] = dict(payload["repository"], clone_url=git.url)
    return payload


def push_and_deliver(
    cluster: Cluster, git: GitServer, target: Listener, branch: str, path: str, message: str,
    edit: Callable[[str], str] | None = None,
) -> tuple[str, dict]:  # fmt: skip
    """EDIT PATH on BRANCH (default: append a comment line), push it and deliver the signed push:
    the commit and the PipelineRun it started."""
    edit = edit or (lambda text: text + f"# e2e: {message}\n")
    before, after = git.commit(branch, {path: edit}, message)
    known = set(pipelineruns(cluster))
    answer = send(target, payload=push_payload(git, branch, before, after, [path]), event="push")
    assert answer.startswith("202 "), answer
    return after, new_run(cluster, known)
