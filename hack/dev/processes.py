"""Stopping a child process: the one way the dev loop's helpers, the benchmarks and the tests end
the servers they started (imported as `processes` by the tests, through pytest's `pythonpath`,
and as `hack.dev.processes` by the benchmarks, which run from the repository root)."""

from __future__ import annotations

import signal
import subprocess


def stop_process(
    process: subprocess.Popen, *, timeout: float, sig: signal.Signals = signal.SIGTERM
) -> int:
    """Send `sig` (SIGTERM: a graceful stop) unless the process already exited, wait up to
    `timeout` seconds, then SIGKILL it and reap it. Its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
