"""order-api handlers: read input, call the order rules, shape the answer."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from kit.auth import require_admin, require_service
from kit.errors import ApiError, DatabaseUnavailable
from kit.jsonio import json_response, parse_query, read_json
from kit.validation import is_uuid
from order_api import orders
from order_api.keys import ORDER_METRICS, SETTINGS
from order_api.models import OrderCreate, OrderQuery, StatusChange

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the IETF draft's examples


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        raise ApiError(
            400,
            f"POST /orders needs an {IDEMPOTENCY_HEADER} header",
            code="idempotency_key_missing",
        )
    if len(key) >= 3 and key[0] == key[-1] == '"':
        key = key[1:-1]  # the draft sends it as a structured-field string: "abc" is abc
    if not _KEY.fullmatch(key):
        raise ApiError(
            400,
            f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters",
            code="idempotency_key_invalid",
        )
    return key


def _order_id(request: web.Request) -> uuid.UUID:
    raw = request.match_info["id"]
    if not is_uuid(raw):  # uuid.UUID() alone also takes '{...}', 'urn:uuid:' and non-ASCII digits
        raise ApiError(404, f"no order with id {raw[:40]!r}")
    return uuid.UUID(raw)


async def create_order(request: web.Request) -> web.Response:
    require_service(request, request.app[SETTINGS].service_token)
    metrics = request.app[ORDER_METRICS]
    try:
        key = _idempotency_key(request)
        order = await read_json(request, OrderCreate)
    except (ApiError, web.HTTPException) as err:
        if err.status < 500:  # bad header, body or size
            metrics.order_rejected("invalid_request")
        raise
    try:
        outcome = await orders.place_order(request.app, key=key, order=order)
    except DatabaseUnavailable:
        metrics.order_rejected("db_unavailable")
        raise
    headers = {"Location": str(request.app.router["order"].url_for(id=outcome.order_id))}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.Response(
        status=outcome.status,
        body=outcome.body,
        content_type="application/json",
        headers=headers,
    )


async def get_order(request: web.Request) -> web.Response:
    require_service(request, request.app[SETTINGS].service_token)
    return json_response(await orders.get_order(request.app, order_id=_order_id(request)))


async def list_orders(request: web.Request) -> web.Response:
    require_service(request, request.app[SETTINGS].service_token)
    query = parse_query(request, OrderQuery)
    items, total = await orders.list_orders(
        request.app, email=query.email, limit=query.limit, offset=query.offset
    )
    return json_response(
        {"items": items, "total": total, "limit": query.limit, "offset": query.offset}
    )


async def cancel_order(request: web.Request) -> web.Response:
    require_service(request, request.app[SETTINGS].service_token)
    order_id = _order_id(request)
    body = await orders.change_status(
        request.app, order_id=order_id, to="cancelled", allowed=orders.CUSTOMER_TRANSITIONS
    )
    return json_response(body)


async def change_status(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    order_id = _order_id(request)
    change = await read_json(request, StatusChange)
    body = await orders.change_status(
        request.app, order_id=order_id, to=change.status, allowed=orders.ADMIN_TRANSITIONS
    )
    return json_response(body)
