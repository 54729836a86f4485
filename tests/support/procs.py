"""Services as real processes (`python -m <package>`), for tests that need real signals and HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from localpg import free_port
from processes import stop_process

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


@dataclass
class ServiceProcess:
    process: subprocess.Popen
    url: str

    def wait_until(self, path: str, status: int = 200, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1) as response:
                    last = response.status
            except urllib.error.HTTPError as err:
                last = err.code
            except OSError:
                last = None
            if last == status:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.url}{path} did not answer {status} (last: {last})")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        stop_process(self.process, timeout=30)
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()
        return self.process.returncode

    def output(self) -> str:
        """Everything the process printed; call after it exited."""
        return self.process.stdout.read() if self.process.stdout else ""


def start_service(package: str, env: dict[str, str], *, wait_ready: bool = True) -> ServiceProcess:
    port = free_port()
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SERVICES_DIR),
        **env,
        "PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", package],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = ServiceProcess(process=process, url=f"http://127.0.0.1:{port}")
    try:
        service.wait_until("/ready" if wait_ready else "/health")
    except Exception:
        service.stop()
        raise
    return service
