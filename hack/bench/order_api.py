"""Benchmark order placement, then prove stock and order lines agree.

    .venv/bin/python hack/bench_order_api.py [--seconds 10]

order-api runs pinned to CPU 0 with its production settings; wrk (32 connections, one thread)
and PostgreSQL share CPU 1. Every request has a unique Idempotency-Key and 1-3 distinct lines
over 1,000 products with ample stock. Prints orders/s and p50/p99, then checks that for every
product the stock taken equals the quantity on order lines and that the number of orders equals
the 201 answers wrk saw. Targets (issue 3): >= 800 orders/s, p99 < 50 ms.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import aiopg

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

# order-api's service credential (the shop's ORDER_API_TOKEN); wrk sends it on every order.
SERVICE_TOKEN = "bench-order-api-service-token-0123456789"

PRODUCTS = 1000
INITIAL_STOCK = 1_000_000

ORDERS = """
math.randomseed(11)
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


async def prepare(url: str) -> tuple[int, int]:
    async with aiopg.connect(url) as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO catalog.categories (slug, name) VALUES ('bench', 'Bench')"
            " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id"
        )
        (category,) = await cur.fetchone()
        await cur.execute(
            "INSERT INTO catalog.products (sku, name, category_id, price, stock)"
            " SELECT 'BENCH-' || n, 'Bench item ' || n, %s, (n %% 97) + 0.99, %s"
            " FROM generate_series(1, %s) AS n ON CONFLICT (sku) DO NOTHING",
            (category, INITIAL_STOCK, PRODUCTS),
        )
        await cur.execute("SELECT min(id), max(id) FROM catalog.products WHERE category_id = %s",
                          (category,))  # fmt: skip
        return await cur.fetchone()


async def verify(url: str, first: int, last: int) -> tuple[int, int]:
    """Return (orders, mismatching products); a mismatch means stock and lines disagree."""
    async with aiopg.connect(url) as conn, conn.cursor() as cur:
        await cur.execute(
            """
            SELECT count(*) FROM catalog.products p
              LEFT JOIN (SELECT product_id, sum(quantity) AS q FROM orders.order_lines
                          GROUP BY product_id) l ON l.product_id = p.id
             WHERE p.id BETWEEN %s AND %s AND p.stock + coalesce(l.q, 0) <> %s
            """,
            (first, last, INITIAL_STOCK),
        )
        (mismatches,) = await cur.fetchone()
        await cur.execute("SELECT count(*) FROM orders.orders")
        (orders,) = await cur.fetchone()
        return orders, mismatches


def main() -> int:
    args = arguments(__doc__)
    with database() as url:
        run_module("db.migrate", python_env(DATABASE_URL=url, **ROLE_PASSWORDS))
        env = python_env(
            DATABASE_URL=role_url(url, "order_api"),
            ADMIN_TOKEN=ADMIN_TOKEN,
            ORDER_API_SERVICE_TOKEN=SERVICE_TOKEN,
            DB_POOL_MAX="16",
        )
        first, last = asyncio.run(prepare(url))
        orders_before, _ = asyncio.run(verify(url, first, last))
        script = ORDERS % {
            "run": uuid.uuid4().hex[:8],
            "first": first,
            "last": last,
            "token": SERVICE_TOKEN,
        }
        with pinned_process([sys.executable, "-m", "order_api"], env, free_port()) as target:
            result = wrk(
                "order-api POST /orders", target, "/orders", script,
                connections=args.connections, seconds=args.seconds,
            )  # fmt: skip
        orders_after, mismatches = asyncio.run(verify(url, first, last))
    print(result.line())
    created = orders_after - orders_before
    print(f"orders created: {created}; products whose stock and order lines disagree: {mismatches}")
    print(
        f"target: >= 800 orders/s (got {result.requests_per_second:.0f}),"
        f" p99 < 50 ms (got {result.p99_ms:.2f} ms)"
    )
    # wrk stops counting at the deadline while up to `connections` requests are still in flight.
    in_flight_slack = args.connections
    if mismatches or not (result.requests <= created <= result.requests + in_flight_slack):
        print("CONSISTENCY CHECK FAILED")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
