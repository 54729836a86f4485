"""Order placement and the order life cycle: the rules live here, the SQL in queries.py.

Placing an order is one database transaction around one call of the SQL function
orders.place_order (migration orders/0005): idempotency-key lock and lookup, stock reservation
through the catalog, the order, its lines and the stored response. Either all of it commits or
none of it does (an error or a cancellation rolls back), so no half order can exist.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from kit import db
from kit.errors import ApiError
from order_api import queries
from order_api.keys import ORDER_METRICS, SETTINGS
from order_api.metrics import OrderMetrics
from order_api.models import OrderCreate

# Order life cycle: who may move an order from one status to the next.
CUSTOMER_TRANSITIONS = {("confirmed", "cancelled")}
ADMIN_TRANSITIONS = {("confirmed", "shipped"), ("shipped", "delivered")}


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    order_id: str
    replayed: bool


def fingerprint(order: OrderCreate) -> str:
    """The request's identity for idempotency: its validated, canonical JSON."""
    canonical = orjson.dumps(order.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def order_json(row: dict[str, Any]) -> dict[str, Any]:
    address = row["shipping_address"]
    items = row["items"]
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "customer": {"email": row["customer_email"], "name": row["customer_name"]},
        "shipping_address": orjson.loads(address) if isinstance(address, str) else address,
        "items": orjson.loads(items) if isinstance(items, str) else items,
        "total": str(row["total"]),
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def place_order(app: web.Application, *, key: str, order: OrderCreate) -> Outcome:
    """Two round trips: BEGIN with the one call of orders.place_order (it claims the key,
    reserves the stock, writes the order and its stored response), then COMMIT.

    The COMMIT cannot travel with the call: the server would then commit whether or not we are
    still there to answer, and a placement cancelled while it waits on a row lock (a shutdown, a
    client gone) must leave nothing behind (test_concurrency.py). A refusal rolls back."""
    metrics = app[ORDER_METRICS]
    async with db.connection(app) as conn, db.transaction(conn) as tx:
        row = await queries.place_order(
            tx,
            key=key,
            fingerprint=fingerprint(order),
            lines=[(line.product_id, line.quantity) for line in order.items],
            customer=order.customer.model_dump(),
            address=order.shipping_address.model_dump(),
            ttl_hours=app[SETTINGS].idempotency_key_ttl_hours,
        )
        _raise_if_refused(metrics, row)
    body = row["response_body"].encode()
    if row["outcome"] == "replayed":
        return Outcome(row["response_status"], body, str(row["order_id"]), replayed=True)
    # "created", counted only once the transaction has committed.
    metrics.order_created(row["order_total"])
    return Outcome(201, body, str(row["order_id"]), replayed=False)


def _raise_if_refused(metrics: OrderMetrics, row: dict[str, Any]) -> None:
    """The ApiError for an orders.place_order outcome that places nothing, counted."""
    outcome = row["outcome"]
    if outcome == "in_flight":
        metrics.order_rejected("idempotency_conflict")
        raise ApiError(
            409,
            "a request with this Idempotency-Key is still being processed; retry shortly",
            code="idempotency_in_flight",
            headers={"Retry-After": "1"},
        )
    if outcome == "reused":
        metrics.order_rejected("idempotency_conflict")
        raise ApiError(
            422,
            "this Idempotency-Key was used with a different request body",
            code="idempotency_key_reused",
        )
    if outcome == "short":
        short = [
            {"product_id": product_id, "requested": requested, "available": available}
            for product_id, requested, available in zip(
                row["short_product_ids"],
                row["short_requested"],
                row["short_available"],
                strict=True,
            )
        ]
        unknown = any(line["available"] is None for line in short)
        metrics.order_rejected("unknown_product" if unknown else "insufficient_stock")
        raise ApiError(
            409,
            "some items are not available in the requested quantity",
            code="insufficient_stock",
            details={"lines": short},
        )


async def get_order(app: web.Application, *, order_id: uuid.UUID) -> dict[str, Any]:
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        row = await queries.get_order(cur, order_id=order_id)
    if row is None:
        raise ApiError(404, f"order {order_id} does not exist")
    return order_json(row)


async def list_orders(
    app: web.Application, *, email: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a customer's orders, newest first, and how many there are in all."""
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        rows, total = await queries.list_orders(cur, email=email, limit=limit, offset=offset)
    return [order_json(row) for row in rows], total


async def purge_expired_keys(app: web.Application) -> int:
    """Delete idempotency keys past their expiry (lookups already ignore them); how many."""
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        return await queries.purge_expired_keys(cur)


async def change_status(
    app: web.Application, *, order_id: uuid.UUID, to: str, allowed: set[tuple[str, str]]
) -> dict[str, Any]:
    """Move an order along its life cycle; a cancel gives its stock back, exactly once.

    The order row is locked first, so two concurrent cancels serialise: the second sees
    `cancelled` and gets 409 instead of releasing the stock a second time.
    """
    async with db.connection(app) as conn, db.transaction(conn) as cur:
        row = await queries.get_order(cur, order_id=order_id, lock=True)
        if row is None:
            raise ApiError(404, f"order {order_id} does not exist")
        if (row["status"], to) not in allowed:
            raise ApiError(
                409,
                f"an order that is {row['status']} cannot become {to}",
                code="invalid_transition",
                details={"from": row["status"], "to": to},
            )
        if to == "cancelled":
            await queries.release_stock(
                cur, lines=await queries.order_lines(cur, order_id=order_id)
            )
        await queries.set_status(cur, order_id=order_id, status=to)
        updated = await queries.get_order(cur, order_id=order_id)
    return order_json(updated)
