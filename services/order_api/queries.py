"""order-api SQL. Functions take a cursor and keyword arguments; all SQL is parameterised.

Stock is never touched directly: the catalog's reserve_stock / release_stock functions do it,
inside the caller's transaction.
"""

from __future__ import annotations

import uuid

import orjson

from kit.db import Executor

# 64-bit advisory-lock key space for idempotency keys (distinct from the migration lock's).
IDEMPOTENCY_LOCK_SEED = 0x0DE5


async def place_order(
    cur: Executor,
    *,
    key: str,
    fingerprint: str,
    lines: list[tuple[int, int]],
    customer: dict[str, str],
    address: dict[str, str],
    ttl_hours: int,
) -> dict:
    """Claim `key`, reserve the (product_id, quantity) lines, write the order and its stored
    response, in one statement (migration orders/0005): {outcome, response_status,
    response_body, order_id, order_total, short_product_ids, short_requested, short_available}.
    Run it in a transaction (kit.db.transaction) that the caller commits once it has the row."""
    ordered = sorted(lines)
    await cur.execute(
        """
        SELECT * FROM orders.place_order(
            %(key)s, %(seed)s, %(fingerprint)s, %(ids)s::bigint[], %(quantities)s::integer[],
            %(email)s, %(name)s, %(address)s, %(ttl)s)
        """,
        {
            "key": key,
            "seed": IDEMPOTENCY_LOCK_SEED,
            "fingerprint": fingerprint,
            "ids": [pid for pid, _ in ordered],
            "quantities": [qty for _, qty in ordered],
            "email": customer["email"],
            "name": customer["name"],
            "address": address_json(address),
            "ttl": ttl_hours,
        },
    )
    return await cur.fetchone()


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
