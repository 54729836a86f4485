"""Benchmark the frontend: catalog and product pages, the frontend alone on one core.

    make bench     # or: .venv/bin/python -m hack.bench.frontend [--seconds 10] [--cache 0]

A throwaway PostgreSQL with the demo catalog plus 10,000 products; product-api and order-api as
real processes on CPU 1 with PostgreSQL and wrk; the frontend (`python -m frontend`) pinned to
CPU 0. wrk (16 connections) requests a rotation of catalog pages (filters, searches, pages),
then product pages of random ids over all products; medians of --repeats runs, with the
frontend's CPU us per page. CATALOG_CACHE_SECONDS is the frontend's default (2 s) unless --cache
says otherwise; `--cache 0` sends every catalog page to product-api.
Target (issue 15): >= 2,000 pages/s with p99 <= 15 ms.
"""

from __future__ import annotations

import argparse
import sys

from hack.bench import common

TARGET_PAGES_PER_SECOND = 2000
TARGET_P99_MS = 15.0
CATALOG_PATHS = [
    "/",
    "/?page=2",
    "/?category=audio",
    "/?category=laptops&sort=price",
    "/?q=wireless",
    "/?in_stock=1&sort=-price",
    "/?min_price=50&max_price=400",
    "/?category=phones&page=2",
]


def cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache", type=int, default=2, help="CATALOG_CACHE_SECONDS of the frontend (0: off)"
    )


def main() -> int:
    args = common.arguments(__doc__, cache_option, connections=16)
    with common.catalog_database(args) as db:
        ids = common.product_ids(db.url)
        pages = {
            "frontend catalog page": common.rotating_paths(CATALOG_PATHS),
            "frontend product page": common.random_paths("/products/%d", ids),
        }
        apis = {
            package: common.api_env(args, db.url, package, LOG_LEVEL="WARNING", DB_POOL_MAX="20")
            for package in ("product_api", "order_api")
        }
        print(
            f"frontend benchmark: {len(ids)} products, CATALOG_CACHE_SECONDS={args.cache},"
            f" event loop {common.loop_name(args)}",
            flush=True,
        )
        results = common.Results()
        with (
            common.server(
                "product-api", [sys.executable, "-m", "product_api"], apis["product_api"],
                cpu=common.LOAD_CPU,
            ) as product_api,
            common.server(
                "order-api", [sys.executable, "-m", "order_api"], apis["order_api"],
                cpu=common.LOAD_CPU,
            ) as order_api,
        ):  # fmt: skip
            env = common.python_env(
                args,
                LOG_LEVEL="WARNING",
                PRODUCT_API_URL=product_api.url,
                ORDER_API_URL=order_api.url,
                ORDER_API_TOKEN=common.SERVICE_TOKEN,
                SESSION_SECRET="bench-session-secret-0123456789abcdef",
                CATALOG_CACHE_SECONDS=str(args.cache),
            )
            with common.server("frontend", [sys.executable, "-m", "frontend"], env) as frontend:
                for script in pages.values():  # templates, connections, the caches
                    common.wrk(frontend, script, connections=args.connections, seconds=2)
                for _ in range(args.repeats):
                    for label, script in pages.items():
                        run = common.wrk(
                            frontend, script,
                            connections=args.connections, seconds=args.seconds, database=db,
                        )  # fmt: skip
                        results.add(label, run)
    results.summary()
    print()
    for label in pages:
        rate = results.median(label, "requests_per_second")
        p99 = results.median(label, "p99_ms")
        cpu = results.median(label, "cpu_us_per_request")
        met = rate >= TARGET_PAGES_PER_SECOND and p99 <= TARGET_P99_MS
        print(
            f"{label}: {rate:.0f} pages/s, p99 {p99:.1f} ms, {cpu:.0f} us of frontend CPU per"
            f" page (target >= {TARGET_PAGES_PER_SECOND} pages/s, p99 <= {TARGET_P99_MS:.0f} ms:"
            f" {common.verdict(met)}; one core at {cpu:.0f} us/page serves at most"
            f" {1e6 / cpu:.0f} pages/s)"
        )
    return 1 if results.bad_answers() else 0


if __name__ == "__main__":
    sys.exit(main())
