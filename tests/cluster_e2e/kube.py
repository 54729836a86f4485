"""The live e2e cluster as the tests use it: kubectl (cluster admin), port-forwards, commands in
pods, SQL in the in-cluster PostgreSQL. The suite runs inside the cluster's network namespace
(hack/e2e/run.sh), so Service and pod addresses are reachable and nothing else is."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.commands import CommandFailed, run_command

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "techcommerce-staging"
SERVICES = ("product-api", "order-api", "frontend")
RUN_DIR_ENV = "TECHCOMMERCE_E2E_CLUSTER"
KUBECTL_ENV = "TECHCOMMERCE_E2E_KUBECTL"
# A container's securityContext hardened like the project's (PodSecurity "restricted" admits it).
HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


class KubectlError(CommandFailed):
    pass


@dataclass
class Cluster:
    run_dir: Path
    kubectl_binary: str

    @classmethod
    def from_env(cls) -> Cluster:
        return cls(Path(os.environ[RUN_DIR_ENV]), os.environ[KUBECTL_ENV])

    @property
    def kubeconfig(self) -> Path:
        return self.run_dir / "admin.kubeconfig"

    def command(self, *args: str) -> list[str]:
        return [self.kubectl_binary, "--kubeconfig", str(self.kubeconfig), *args]

    def kubectl(
        self, *args: str, input: str | None = None, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_command(
            self.command(*args),
            input=input,
            timeout=timeout,
            check=check,
            name=f"kubectl {' '.join(args)}",
            error=KubectlError,
        )

    def get(self, *args: str, namespace: str = NAMESPACE) -> dict:
        return json.loads(self.kubectl("-n", namespace, "get", *args, "-o", "json").stdout)

    def pods(self, selector: str, namespace: str = NAMESPACE) -> list[dict]:
        return self.get("pods", "-l", selector, namespace=namespace)["items"]

    def running_pod(self, name: str, namespace: str = NAMESPACE) -> str:
        """The name of a Ready pod of app.kubernetes.io/name=NAME."""
        for pod in self.pods(f"app.kubernetes.io/name={name}", namespace):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
            if conditions.get("Ready") == "True":
                return pod["metadata"]["name"]
        raise KubectlError(f"no Ready pod of {name} in {namespace}")

    def serving_pods(self, name: str, namespace: str = NAMESPACE) -> dict[str, str]:
        """{uid: name} of the Ready, not terminating pods of app.kubernetes.io/name=NAME (by uid:
        a StatefulSet's replacement pod has its predecessor's name)."""
        serving = {}
        for pod in self.pods(f"app.kubernetes.io/name={name}", namespace):
            conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
            if not pod["metadata"].get("deletionTimestamp") and conditions.get("Ready") == "True":
                serving[pod["metadata"]["uid"]] = pod["metadata"]["name"]
        return serving

    def wait_serving(
        self, name: str, replicas: int, timeout: float = 300, namespace: str = NAMESPACE
    ) -> dict[str, str]:
        """Wait until REPLICAS pods of NAME are Ready and not terminating. A label-selected
        `kubectl wait` would also wait on a pod that is already terminating (and may never be
        Ready again), which is not the question after a pod was replaced."""
        return eventually(
            lambda: (pods := self.serving_pods(name, namespace)) and len(pods) >= replicas and pods,
            timeout,
            what=f"{replicas} serving pod(s) of {name}",
        )

    def wait_database_reachable(self, timeout: float = 180) -> None:
        """Wait until every pod of the APIs that use PostgreSQL reaches it: each answers 200 on
        /ready, which checks the database. After PostgreSQL's pod is replaced, its new address
        takes some seconds to reach the Service and the NetworkPolicy rules; meanwhile the APIs
        answer 503 with Retry-After, as they should, and a test that measures something else (a
        scale-out) must not start in that window."""

        def ready_answers() -> bool:
            for name in ("product-api", "order-api"):
                for pod in self.pods(f"app.kubernetes.io/name={name}"):
                    if pod["metadata"].get("deletionTimestamp"):
                        continue
                    address = pod["status"].get("podIP")
                    port = next(
                        p["containerPort"]
                        for p in pod["spec"]["containers"][0]["ports"]
                        if p["name"] == "http"
                    )
                    try:
                        with urllib.request.urlopen(
                            f"http://{address}:{port}/ready", timeout=3
                        ) as answer:
                            if answer.status != 200:
                                return False
                    except OSError:  # includes HTTPError (a 503) and refused connections
                        return False
            return True

        eventually(ready_answers, timeout, what="every API pod to reach PostgreSQL (/ready 200)")

    def exec(
        self, pod: str, *command: str, namespace: str = NAMESPACE, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.kubectl(
            "-n", namespace, "exec", pod, "--", *command, timeout=timeout, check=False
        )

    def python_in(
        self, pod: str, code: str, namespace: str = NAMESPACE
    ) -> subprocess.CompletedProcess[str]:
        return self.exec(pod, "python", "-c", code, namespace=namespace)

    def sql(self, statement: str) -> list[list[str]]:
        """Rows of STATEMENT run by psql in the PostgreSQL pod (its superuser, local socket)."""
        proc = self.exec(
            "postgres-0",
            "sh",
            "-c",
            'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -AtF "|" -c "$0"',
            statement,
        )
        if proc.returncode != 0:
            raise KubectlError(f"psql failed: {proc.stderr.strip()}")
        return [line.split("|") for line in proc.stdout.splitlines() if line]

    def service_ip(self, name: str, namespace: str = NAMESPACE) -> str:
        return self.get("service", name, namespace=namespace)["spec"]["clusterIP"]

    def wait(self, *args: str, timeout: int = 180, namespace: str = NAMESPACE) -> None:
        self.kubectl("-n", namespace, "wait", *args, f"--timeout={timeout}s", timeout=timeout + 30)

    def rollout_status(
        self, kind_name: str, timeout: int = 300, namespace: str = NAMESPACE
    ) -> None:
        self.kubectl(
            "-n",
            namespace,
            "rollout",
            "status",
            kind_name,
            f"--timeout={timeout}s",
            timeout=timeout + 30,
        )

    def image_digest(self, repository: str) -> str:
        """REGISTRY/REPOSITORY@sha256:... as hack/e2e/deploy.sh pushed it."""
        digest = (self.run_dir / "images" / (repository.replace("/", "_") + ".digest")).read_text()
        return f"{self.registry}/{repository}@{digest.strip()}"

    @property
    def node_address(self) -> str:
        """The node's InternalIP: where the local git server and the Python index listen."""
        node = self.get("nodes", namespace="default")["items"][0]
        return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")

    @property
    def registry(self) -> str:
        """HOST:PORT of the in-cluster registry (hack/e2e/cluster-up.sh records it)."""
        return (self.run_dir / "registry" / "address").read_text().strip()

    @contextlib.contextmanager
    def port_forward(self, target: str, port: int, namespace: str = NAMESPACE) -> Iterator[str]:
        """http://127.0.0.1:LOCAL forwarded to TARGET:PORT (e.g. svc/frontend 80)."""
        proc = subprocess.Popen(
            self.command(
                "-n", namespace, "port-forward", "--address", "127.0.0.1", target, f":{port}"
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"127\.0\.0\.1:(\d+)", line)
            if not match:
                proc.kill()
                raise KubectlError(
                    f"port-forward {target}: {line} {proc.stderr.read() if proc.stderr else ''}"
                )
            yield f"http://127.0.0.1:{match.group(1)}"
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=10)  # also closes the pipes
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def eventually(check, timeout: float, interval: float = 1.0, what: str = "condition"):
    """Call CHECK until it returns a truthy value; that value. Fails after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (KubectlError, subprocess.TimeoutExpired) as error:
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
