"""How product-api's throughput grows with a second process on this machine.

    make bench     # or: .venv/bin/python -m hack.bench.replicas [--seconds 10]

GET /products/{id} over the 10,240 products, 32 connections, served first by one product-api
process, then by two (two replicas behind a load balancer: one wrk per process, 16 connections
each). Nothing is pinned here: the processes, PostgreSQL and wrk share both cores as the
scheduler likes, the same way in both cases, so the difference is what a second process buys
on a 2-core machine. Prints throughput, p99, the CPU us per request of the product-api
processes and of PostgreSQL (the figures the sizing arithmetic in the README uses).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack

from hack.bench import common

BOTH_CPUS = "0,1"


def main() -> int:
    args = common.arguments(__doc__)
    with common.catalog_database(args, cpu=None) as db:
        script = common.random_paths("/products/%d", common.product_ids(db.url))
        env = common.api_env(args, db.url, "product_api")
        print(
            f"replicas benchmark: event loop {common.loop_name(args)}, nothing pinned", flush=True
        )
        results = common.Results()
        with ExitStack() as stack:
            argv = [sys.executable, "-m", "product_api"]
            targets = [
                stack.enter_context(common.server(f"product-api {n}", argv, env, cpu=BOTH_CPUS))
                for n in (1, 2)
            ]
            common.wrk(targets, script, connections=8, seconds=3, cpu=None)  # warm both caches
            for _ in range(args.repeats):
                for count in (1, 2):
                    run = common.wrk(
                        targets[:count], script,
                        connections=args.connections, seconds=args.seconds,
                        database=db, cpu=None,
                    )  # fmt: skip
                    results.add(f"{count} product-api process(es) GET /products/{{id}}", run)
    results.summary()
    one, two = (f"{n} product-api process(es) GET /products/{{id}}" for n in (1, 2))
    ratio, _ = results.ratio(two, one)
    print(f"\ntwo processes serve {ratio:.2f}x the throughput of one on this machine")
    return 1 if results.bad_answers() else 0


if __name__ == "__main__":
    sys.exit(main())
