"""Benchmark order placement, then prove stock and order lines agree.

    make bench     # or: .venv/bin/python -m hack.bench.order_api [--seconds 10] [--loop asyncio]

order-api runs pinned to CPU 0 with its production settings; wrk (32 connections, one thread)
and PostgreSQL share CPU 1. Every request has a unique Idempotency-Key and 1-3 distinct lines
over the 10,000 bulk products (stock 1,000,000 each). After each run it checks that for every
product the stock taken equals the quantity on its order lines, and that the orders created
match the 201 answers wrk counted. Targets (issue 15): >= 1,200 orders/s, p99 < 50 ms.

The order tables start with a history (HISTORY_ORDERS orders, their lines and live idempotency
keys), analysed before order-api connects, as a shop's are. Started empty, every order-api
connection planned its statements against empty tables and kept those plans (sequential scans)
while the tables grew during the run: the foreign-key checks on orders.orders and the key lookups
read about a thousand rows each: 14-24% of PostgreSQL's CPU per order (hack/bench/README.md).
"""

from __future__ import annotations

import sys
import time
import uuid

from hack.bench import common

INITIAL_STOCK = 1_000_000  # of every bulk product (hack.bench.common.prepare_database)
HISTORY_ORDERS = 20_000
# Backends report their statistics about once a second when idle: wait for the run's.
STATS_DELAY_SECONDS = 1.5
TARGET_ORDERS_PER_SECOND = 1200
TARGET_P99_MS = 50.0
LABEL = "order-api POST /orders"

ORDERS = """
math.randomseed(%(seed)d)
local run = "%(run)s"
local counter = 0
request = function()
  counter = counter + 1
  local lines, used = {}, {}
  for i = 1, math.random(1, 3) do
    local id
    repeat id = math.random(%(first)d, %(last)d) until not used[id]
    used[id] = true
    lines[#lines + 1] = string.format('{"product_id":%%d,"quantity":%%d}', id, math.random(1, 3))
  end
  local body = '{"customer":{"email":"bench@example.com","name":"Bench"},'
    .. '"shipping_address":{"line1":"1 Load St","city":"Basel","postal_code":"4000",'
    .. '"country":"CH"},"items":[' .. table.concat(lines, ",") .. ']}'
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer %(token)s",
                   ["Idempotency-Key"] = run .. "-" .. counter}
  return wrk.format("POST", "/orders", headers, body)
end
"""


def bulk_range(url: str) -> tuple[int, int]:
    ((first, last),) = common.run_sql(
        url, "SELECT min(id), max(id) FROM catalog.products WHERE sku LIKE 'BULK-%%'"
    )
    return first, last


def seed_order_history(url: str, first: int, last: int) -> None:
    """HISTORY_ORDERS placed orders of one unit each, spread over the bulk products, with their
    live idempotency keys and the stock they took; then fresh statistics for those tables."""
    common.run_sql(
        url,
        """
        WITH history AS (
            SELECT n, gen_random_uuid() AS order_id, p.id AS product_id, p.name, p.price
              FROM generate_series(1, %(orders)s) AS n
              JOIN catalog.products p ON p.id = %(first)s + n %% (%(last)s - %(first)s + 1)
        ), placed AS (
            INSERT INTO orders.orders (id, status, customer_email, customer_name,
                                       shipping_address, total, created_at, updated_at)
            SELECT order_id, 'confirmed', 'history' || n || '@example.com', 'History ' || n,
                   '{"line1": "1 Old St", "city": "Basel", "postal_code": "4000",
                     "country": "CH"}', price, now() - n * interval '1 second',
                   now() - n * interval '1 second'
              FROM history
        ), lines AS (
            INSERT INTO orders.order_lines
                (order_id, product_id, name, unit_price, quantity, line_total)
            SELECT order_id, product_id, name, price, 1, price FROM history
        ), keys AS (
            INSERT INTO orders.idempotency_keys
                (key, fingerprint, order_id, response_status, response_body, expires_at)
            SELECT 'history-' || n, 'history', order_id, 201, '{}', now() + interval '1 day'
              FROM history
        )
        UPDATE catalog.products p SET stock = p.stock - t.taken
          FROM (SELECT product_id, count(*) AS taken FROM history GROUP BY product_id) AS t
         WHERE p.id = t.product_id
        """,
        {"orders": HISTORY_ORDERS, "first": first, "last": last},
    )
    common.run_sql(
        url,
        "VACUUM ANALYZE orders.orders, orders.order_lines, orders.idempotency_keys,"
        " catalog.products",
    )


def flushes_and_scans(url: str) -> tuple[int, int]:
    """(WAL flushes so far, sequential scans of the order tables so far). Every order commit
    waits for a flush, and one that notified holds the notification lock through it, so commits
    share flushes only without it; a sequential scan of an order table means a plan made
    against a table that was not yet representative."""
    ((flushes, scans),) = common.run_sql(
        url,
        """
        SELECT (SELECT wal_sync FROM pg_stat_wal),
               (SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables
                 WHERE schemaname = 'orders')
        """,
    )
    return int(flushes), int(scans)


def orders_and_mismatches(url: str, first: int, last: int) -> tuple[int, int]:
    """(orders, bulk products whose stock and order lines disagree)."""
    ((mismatches,),) = common.run_sql(
        url,
        """
        SELECT count(*) FROM catalog.products p
          LEFT JOIN (SELECT product_id, sum(quantity) AS q FROM orders.order_lines
                      GROUP BY product_id) l ON l.product_id = p.id
         WHERE p.id BETWEEN %s AND %s AND p.stock + coalesce(l.q, 0) <> %s
        """,
        (first, last, INITIAL_STOCK),
    )
    ((orders,),) = common.run_sql(url, "SELECT count(*) FROM orders.orders")
    return orders, mismatches


def main() -> int:
    args = common.arguments(__doc__)
    with common.catalog_database(args) as db:
        url = db.url
        first, last = bulk_range(url)
        seed_order_history(url, first, last)
        env = common.api_env(args, url, "order_api")
        print(
            f"order-api benchmark: 1-3 lines over {last - first + 1} products,"
            f" {HISTORY_ORDERS} orders placed before, event loop {common.loop_name(args)}",
            flush=True,
        )
        results, failures = common.Results(), []
        with common.server("order-api", [sys.executable, "-m", "order_api"], env) as target:
            for repeat in range(args.repeats + 1):  # the first run warms up
                orders_before, _ = orders_and_mismatches(url, first, last)
                flushes_before, scans_before = flushes_and_scans(url)
                script = ORDERS % {
                    "seed": repeat + 11,
                    "run": uuid.uuid4().hex[:8],
                    "first": first,
                    "last": last,
                    "token": common.SERVICE_TOKEN,
                }
                seconds = args.seconds if repeat else 3
                run = common.wrk(
                    target, script, connections=args.connections, seconds=seconds, database=db
                )
                time.sleep(STATS_DELAY_SECONDS)
                flushes, scans = flushes_and_scans(url)
                if repeat:
                    results.add(LABEL, run)
                    per_order = (flushes - flushes_before) / max(run.requests, 1)
                    print(
                        f"  {'':44} PostgreSQL: {per_order:.2f} WAL flushes per order,"
                        f" {scans - scans_before} sequential scans of the order tables",
                        flush=True,
                    )
                orders_after, mismatches = orders_and_mismatches(url, first, last)
                created = orders_after - orders_before
                # wrk stops counting at its deadline while up to `connections` requests are in
                # flight: those may still create orders it never saw answered.
                if mismatches or not run.requests <= created <= run.requests + args.connections:
                    failures.append(
                        f"run {repeat}: {run.requests} answers, {created} orders created,"
                        f" {mismatches} products whose stock and order lines disagree"
                    )
        orders, mismatches = orders_and_mismatches(url, first, last)
    results.summary()
    rate = results.median(LABEL, "requests_per_second")
    p99 = results.median(LABEL, "p99_ms")
    print(
        f"\norders/s {rate:.0f} (target >= {TARGET_ORDERS_PER_SECOND}:"
        f" {common.verdict(rate >= TARGET_ORDERS_PER_SECOND)}), p99 {p99:.1f} ms"
        f" (target < {TARGET_P99_MS:.0f} ms: {common.verdict(p99 < TARGET_P99_MS)});"
        f" {orders} orders in all, {mismatches} products whose stock and order lines disagree"
    )
    for failure in failures:
        print(f"CONSISTENCY CHECK FAILED: {failure}")
    return 1 if failures or mismatches or results.bad_answers() else 0


if __name__ == "__main__":
    sys.exit(main())
