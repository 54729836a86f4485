"""Benchmark product-api against a bare aiohttp+aiopg handler of the same queries.

    make bench            # or: .venv/bin/python hack/bench_product_api.py [--seconds 10]

The service runs pinned to CPU 0 with its production settings (JSON access logs on); wrk (32
connections) and PostgreSQL share CPU 1. Prints req/s and p50/p99 for GET /products/{id} over
random ids and GET /products?q=..., for the real service and the bare baseline, and the ratio.
Targets (issue 2): real >= 90% of bare throughput, p99 < 20 ms.
"""

from __future__ import annotations

import sys

from bench.common import (
    ADMIN_TOKEN,
    ROLE_PASSWORDS,
    arguments,
    database,
    pinned_process,
    python_env,
    role_url,
    run_module,
    wrk,
)
from localpg import free_port

RANDOM_IDS = """
math.randomseed(7)
request = function()
  return wrk.format("GET", "/products/" .. math.random(1, 240))
end
"""
SEARCH = """
local words = {"laptop", "phone", "wireless", "monitor", "router", "ssd", "camera", "keyboard"}
math.randomseed(7)
request = function()
  return wrk.format("GET", "/products?q=" .. words[math.random(1, #words)])
end
"""


def main() -> int:
    args = arguments(__doc__)
    with database() as url:
        run_module("db.migrate", python_env(DATABASE_URL=url, **ROLE_PASSWORDS))
        env = python_env(
            DATABASE_URL=role_url(url, "product_api"), ADMIN_TOKEN=ADMIN_TOKEN, LOG_LEVEL="INFO"
        )
        run_module("product_api.seed", env)
        results = {}
        real = [sys.executable, "-m", "product_api"]
        bare = [sys.executable, "hack/bench/bare_product_app.py"]
        for label, argv in (("product-api", real), ("bare aiohttp+aiopg", bare)):
            with pinned_process(argv, env, free_port()) as target:
                wrk(f"warm-up {label}", target, "/", RANDOM_IDS, connections=8, seconds=2)
                for case, script in (
                    ("GET /products/{id}", RANDOM_IDS),
                    ("GET /products?q=", SEARCH),
                ):
                    result = wrk(
                        f"{label:20} {case}", target, "/", script,
                        connections=args.connections, seconds=args.seconds,
                    )  # fmt: skip
                    results[(label, case)] = result
                    print(result.line(), flush=True)
    print()
    for case in ("GET /products/{id}", "GET /products?q="):
        real_rps = results[("product-api", case)].requests_per_second
        bare_rps = results[("bare aiohttp+aiopg", case)].requests_per_second
        p99 = results[("product-api", case)].p99_ms
        real_cpu = results[("product-api", case)].cpu_us_per_request
        bare_cpu = results[("bare aiohttp+aiopg", case)].cpu_us_per_request
        print(
            f"{case:22} product-api reaches {real_rps / bare_rps:6.1%} of the bare handler's"
            f" throughput (target >= 90%), {bare_cpu / real_cpu:6.1%} of its CPU efficiency;"
            f" p99 {p99:.2f} ms (target < 20 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
