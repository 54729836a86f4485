"""order-api SQL. Functions take a cursor and keyword arguments; all SQL is parameterised.

Stock is never touched directly: the catalog's reserve_stock / release_stock functions do it,
inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson

from kit.db import Executor

# 64-bit advisory-lock key space for idempotency keys (distinct from the migration lock's).
IDEMPOTENCY_LOCK_SEED = 0x0DE5


async def claim_idempotency_key(tx: Executor, *, key: str) -> dict:
    """Lock `key` for this transaction if free and return its live record (see migration 0002):
    {locked, now, fingerprint, order_id, response_status, response_body}; the record fields are
    None when the key is new."""
    await tx.execute(
        "SELECT * FROM orders.claim_idempotency_key(%(key)s, %(seed)s)",
        {"key": key, "seed": IDEMPOTENCY_LOCK_SEED},
    )
    return await tx.fetchone()


async def reserve_stock(cur: Executor, *, lines: list[tuple[int, int]]) -> list[dict]:
    """Reserve (product_id, quantity) lines through the catalog; rows come back in id order."""
    ordered = sorted(lines)
    await cur.execute(
        "SELECT * FROM catalog.reserve_stock(%(ids)s::bigint[], %(quantities)s::integer[])",
        {"ids": [pid for pid, _ in ordered], "quantities": [qty for _, qty in ordered]},
    )
    return await cur.fetchall()


async def insert_order(
    cur: Executor,
    *,
    order_id: uuid.UUID,
    customer: dict[str, str],
    address: dict[str, str],
    total: Decimal,
    lines: list[dict[str, Any]],
    idempotency_key: str,
    fingerprint: str,
    response_body: str,
    ttl_hours: int,
) -> None:
    """Write the order, its lines and the idempotency record in one statement."""
    await cur.execute(
        """
        WITH new_order AS (
            INSERT INTO orders.orders
                (id, status, customer_email, customer_name, shipping_address, total)
            VALUES (%(id)s, 'confirmed', %(email)s, %(name)s, %(address)s::jsonb, %(total)s)
            RETURNING id
        ), new_lines AS (
            INSERT INTO orders.order_lines
                (order_id, product_id, name, unit_price, quantity, line_total)
            SELECT o.id, l.product_id, l.name, l.unit_price, l.quantity, l.line_total
              FROM new_order o,
                   unnest(%(product_ids)s::bigint[], %(names)s::text[],
                          %(unit_prices)s::numeric[], %(quantities)s::integer[],
                          %(line_totals)s::numeric[])
                   AS l (product_id, name, unit_price, quantity, line_total)
        )
        INSERT INTO orders.idempotency_keys
            (key, fingerprint, order_id, response_status, response_body, expires_at)
        SELECT %(key)s, %(fingerprint)s, o.id, 201, %(body)s,
               now() + make_interval(hours => %(ttl)s)
          FROM new_order o
        """,
        {
            "id": str(order_id),
            "email": customer["email"],
            "name": customer["name"],
            "address": address_json(address),
            "total": total,
            "product_ids": [line["product_id"] for line in lines],
            "names": [line["name"] for line in lines],
            "unit_prices": [line["unit_price"] for line in lines],
            "quantities": [line["quantity"] for line in lines],
            "line_totals": [line["line_total"] for line in lines],
            "key": idempotency_key,
            "fingerprint": fingerprint,
            "body": response_body,
            "ttl": ttl_hours,
        },
    )


def address_json(address: dict[str, str]) -> str:
    return orjson.dumps(address).decode()


ORDER_COLUMNS = """
    o.id, o.status, o.customer_email, o.customer_name, o.shipping_address, o.total,
    o.created_at, o.updated_at,
    (SELECT coalesce(json_agg(json_build_object(
                'product_id', l.product_id, 'name', l.name, 'unit_price', l.unit_price::text,
                'quantity', l.quantity, 'line_total', l.line_total::text)
              ORDER BY l.product_id), '[]'::json)
       FROM orders.order_lines l WHERE l.order_id = o.id) AS items
"""


async def get_order(cur: Executor, *, order_id: uuid.UUID, lock: bool = False) -> dict | None:
    await cur.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders.orders o WHERE o.id = %(id)s"  # noqa: S608
        + (" FOR UPDATE OF o" if lock else ""),
        {"id": str(order_id)},
    )
    return await cur.fetchone()


async def list_orders(cur: Executor, *, email: str, limit: int, offset: int) -> tuple[list, int]:
    await cur.execute(
        f"SELECT {ORDER_COLUMNS}, count(*) OVER () AS total_count"  # noqa: S608
        " FROM orders.orders o WHERE lower(o.customer_email) = %(email)s"
        " ORDER BY o.created_at DESC, o.id LIMIT %(limit)s OFFSET %(offset)s",
        {"email": email.lower(), "limit": limit, "offset": offset},
    )
    rows = await cur.fetchall()
    if rows or offset == 0:
        return rows, rows[0]["total_count"] if rows else 0
    await cur.execute(
        "SELECT count(*) AS n FROM orders.orders WHERE lower(customer_email) = %(email)s",
        {"email": email.lower()},
    )
    return [], (await cur.fetchone())["n"]


async def order_lines(cur: Executor, *, order_id: uuid.UUID) -> list[tuple[int, int]]:
    await cur.execute(
        "SELECT product_id, quantity FROM orders.order_lines WHERE order_id = %(id)s"
        " ORDER BY product_id",
        {"id": str(order_id)},
    )
    return [(row["product_id"], row["quantity"]) for row in await cur.fetchall()]


async def release_stock(cur: Executor, *, lines: list[tuple[int, int]]) -> None:
    await cur.execute(
        "SELECT catalog.release_stock(%(ids)s::bigint[], %(quantities)s::integer[])",
        {"ids": [pid for pid, _ in lines], "quantities": [qty for _, qty in lines]},
    )


async def set_status(cur: Executor, *, order_id: uuid.UUID, status: str) -> None:
    await cur.execute(
        "UPDATE orders.orders SET status = %(status)s, updated_at = now() WHERE id = %(id)s",
        {"id": str(order_id), "status": status},
    )


async def purge_expired_keys(cur: Executor) -> int:
    await cur.execute("DELETE FROM orders.idempotency_keys WHERE expires_at <= now()")
    return cur.rowcount
