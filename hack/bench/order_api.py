"""Benchmark order placement, then prove stock and order lines agree.

    make bench     # or: .venv/bin/python -m hack.bench.order_api [--seconds 10] [--loop asyncio]

order-api runs pinned to CPU 0 with its production settings; wrk (32 connections, one thread)
and PostgreSQL share CPU 1. Every request has a unique Idempotency-Key and 1-3 distinct lines
over the 10,000 bulk products (stock 1,000,000 each). After each run it checks that for every
product the stock taken equals the quantity on its order lines, and that the orders created
match the 201 answers wrk counted. Targets (issue 15): >= 1,200 orders/s, p99 < 50 ms.
"""

from __future__ import annotations

import sys
import uuid

from hack.bench import common

INITIAL_STOCK = 1_000_000  # of every bulk product (hack.bench.common.prepare_database)
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
        env = common.api_env(args, url, "order_api")
        print(
            f"order-api benchmark: 1-3 lines over {last - first + 1} products,"
            f" event loop {common.loop_name(args)}",
            flush=True,
        )
        results, failures = common.Results(), []
        with common.server("order-api", [sys.executable, "-m", "order_api"], env) as target:
            for repeat in range(args.repeats + 1):  # the first run warms up
                orders_before, _ = orders_and_mismatches(url, first, last)
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
                if repeat:
                    results.add(LABEL, run)
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
