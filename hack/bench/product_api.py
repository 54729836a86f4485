"""Benchmark product-api against a bare aiohttp+aiopg handler of the same statements.

    make bench     # or: .venv/bin/python -m hack.bench.product_api [--seconds 10] [--loop asyncio]

product-api runs with its production settings (JSON access log, metrics, request ids, the error
shape, ETags, the read cache) and the bare handler on the same event loop, both pinned to CPU 0;
wrk (32 connections) and PostgreSQL share CPU 1. The catalog holds the 240 demo products plus
10,000 more; GET /products/{id} draws a random id over all of them, GET /products?q= one of
eight words (each matches dozens of the demo products). The runs of both processes alternate,
each case is repeated (--repeats, 3): medians, spreads, CPU us per request, ratios to the bare.
"""

from __future__ import annotations

import sys

from hack.bench import common

SEARCH = f"""
local words = {{{", ".join(f'"{word}"' for word in common.SEARCH_WORDS)}}}
math.randomseed(7)
request = function()
  return wrk.format("GET", "/products?q=" .. words[math.random(1, #words)])
end
"""
REAL = "product-api"
BARE = "bare aiohttp+aiopg"
# (case, target throughput ratio to the bare handler, target p99 in ms) of issue 15
CASES = (("GET /products/{id}", 1.3, 15.0), ("GET /products?q=", 1.0, 25.0))


def main() -> int:
    args = common.arguments(__doc__)
    with common.catalog_database(args) as db:
        ids = common.product_ids(db.url)
        scripts = {
            "GET /products/{id}": common.random_paths("/products/%d", ids),
            "GET /products?q=": SEARCH,
        }
        env = common.api_env(args, db.url, "product_api")
        print(
            f"product-api benchmark: {len(ids)} products, event loop {common.loop_name(args)}",
            flush=True,
        )
        results = common.Results()
        with (
            common.server(REAL, [sys.executable, "-m", "product_api"], env) as real,
            common.server(BARE, [sys.executable, "-m", "hack.bench.bare_product_app"], env) as bare,
        ):
            for target in (real, bare):  # connections, the pool, the cache
                common.wrk(target, scripts["GET /products/{id}"], connections=8, seconds=3)
            for _ in range(args.repeats):
                for case, _ratio, _p99 in CASES:
                    for target in (real, bare):
                        run = common.wrk(
                            target, scripts[case],
                            connections=args.connections, seconds=args.seconds, database=db,
                        )  # fmt: skip
                        results.add(f"{target.name:19} {case}", run)
    results.summary()
    print()
    for case, target_ratio, target_p99 in CASES:
        ratio, cpu_ratio = results.ratio(f"{REAL:19} {case}", f"{BARE:19} {case}")
        p99 = results.median(f"{REAL:19} {case}", "p99_ms")
        print(
            f"{case:20} product-api/bare: throughput {ratio:.2f}x (target >= {target_ratio}x:"
            f" {common.verdict(ratio >= target_ratio)}), CPU per request {cpu_ratio:.2f}x; p99"
            f" {p99:.1f} ms (target <= {target_p99:.0f} ms: {common.verdict(p99 <= target_p99)})"
        )
    return 1 if results.bad_answers() else 0


if __name__ == "__main__":
    sys.exit(main())
