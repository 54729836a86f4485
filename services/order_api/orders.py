"""Order placement and the order life cycle: the rules live here, the SQL in queries.py.

Placing an order is one database transaction: idempotency-key lock and lookup, stock reservation
through the catalog, the order, its lines and the stored response. Either all of it commits or
none of it does (an error or a cancellation rolls back), so no half order can exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from kit import db
from kit.errors import ApiError
from order_api import queries
from order_api.keys import ORDER_METRICS, SETTINGS
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


def _short_lines(reservation: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": row["product_id"],
            "requested": row["requested"],
            "available": row["available"],
        }
        for row in reservation
        if row["available"] is None or row["available"] < row["requested"]
    ]


async def place_order(app: web.Application, *, key: str, order: OrderCreate) -> Outcome:
    metrics = app[ORDER_METRICS]
    settings = app[SETTINGS]
    print_ = fingerprint(order)
    async with db.connection(app) as conn, db.transaction(conn) as cur:
        claim = await queries.claim_idempotency_key(cur, key=key)
        if not claim["locked"] and claim["fingerprint"] is None:
            metrics.order_rejected("idempotency_conflict")
            raise ApiError(
                409,
                "a request with this Idempotency-Key is still being processed; retry shortly",
                code="idempotency_in_flight",
                headers={"Retry-After": "1"},
            )
        if claim["fingerprint"] is not None:
            if claim["fingerprint"] != print_:
                metrics.order_rejected("idempotency_conflict")
                raise ApiError(
                    422,
                    "this Idempotency-Key was used with a different request body",
                    code="idempotency_key_reused",
                )
            return Outcome(
                claim["response_status"],
                claim["response_body"].encode(),
                str(claim["order_id"]),
                replayed=True,
            )

        reservation = await queries.reserve_stock(
            cur, lines=[(line.product_id, line.quantity) for line in order.items]
        )
        if not all(row["reserved"] for row in reservation):
            short = _short_lines(reservation)
            unknown = any(line["available"] is None for line in short)
            metrics.order_rejected("unknown_product" if unknown else "insufficient_stock")
            raise ApiError(
                409,
                "some items are not available in the requested quantity",
                code="insufficient_stock",
                details={"lines": short},
            )

        lines = [
            {
                "product_id": row["product_id"],
                "name": row["name"],
                "unit_price": row["unit_price"],
                "quantity": row["requested"],
                "line_total": row["unit_price"] * row["requested"],
            }
            for row in reservation
        ]
        total = sum((line["line_total"] for line in lines), Decimal("0.00"))
        order_id = uuid.uuid4()
        customer = order.customer.model_dump()
        address = order.shipping_address.model_dump()
        body = _created_body(order_id, customer, address, lines, total, claim["now"])
        cur.commit_with_next_statement()  # saves the COMMIT round trip
        await queries.insert_order(
            cur,
            order_id=order_id,
            customer=customer,
            address=address,
            total=total,
            lines=lines,
            idempotency_key=key,
            fingerprint=print_,
            response_body=body.decode(),
            ttl_hours=settings.idempotency_key_ttl_hours,
        )
    # Counted only once the transaction has committed.
    metrics.order_created(total)
    return Outcome(201, body, str(order_id), replayed=False)


def _created_body(
    order_id: uuid.UUID,
    customer: dict,
    address: dict,
    lines: list[dict],
    total: Decimal,
    now: dt.datetime,
) -> bytes:
    row = {
        "id": order_id,
        "status": "confirmed",
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "shipping_address": address,
        "items": [
            {**line, "unit_price": str(line["unit_price"]), "line_total": str(line["line_total"])}
            for line in lines
        ],
        "total": total,
        "created_at": now,
        "updated_at": now,
    }
    return orjson.dumps(order_json(row))


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
