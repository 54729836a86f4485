"""`make run`'s launcher (hack/dev/run.py): starts PostgreSQL, migrates, seeds, starts every
service, prints its URLs and `ready`; on Ctrl-C stops everything and leaves nothing running."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from localpg import free_port

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_starts_the_shop_and_ctrl_c_stops_everything():
    ports = {"PRODUCT_API_PORT": free_port(), "ORDER_API_PORT": free_port()}
    ports["FRONTEND_PORT"] = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "hack" / "dev" / "run.py")],
        env={**env, **{k: str(v) for k, v in ports.items()}},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "run.py exited before it was ready:\n" + "".join(lines)
            lines.append(line)
            if line.strip() == "ready":
                break
        output = "".join(lines)
        pg_port = int(output.split("throwaway PostgreSQL on 127.0.0.1:")[1].split()[0])
        packages = {"PRODUCT_API_PORT": "product_api", "ORDER_API_PORT": "order_api"}
        packages["FRONTEND_PORT"] = "frontend"
        for variable, port in ports.items():
            if not (ROOT / "services" / packages[variable] / "__main__.py").exists():
                continue
            assert f"http://127.0.0.1:{port}" in output
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as ready:
                assert ready.status == 200
        url = f"http://127.0.0.1:{ports['PRODUCT_API_PORT']}/products?limit=1"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert json.load(response)["total"] == 240  # migrated and seeded
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "run: stopped" in rest
    for port in [*ports.values(), pg_port]:
        assert not listening(port), f"port {port} still listening after Ctrl-C"
