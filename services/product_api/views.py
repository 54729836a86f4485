"""product-api handlers: read input, call a query with a connection, shape the answer."""

from __future__ import annotations

import logging
from decimal import Decimal
from importlib import resources

from aiohttp import web

from kit import db
from kit.auth import require_admin
from kit.errors import ApiError
from kit.jsonio import cached_json_response, json_response, parse_query, path_id, read_json
from kit.validation import MAX_STOCK
from product_api import queries
from product_api.keys import SETTINGS
from product_api.models import ProductCreate, ProductPatch, ProductQuery, StockAdjustment

log = logging.getLogger("product_api")

OPENAPI = resources.files("product_api").joinpath("openapi.yaml").read_bytes()


def _not_found(product_id: int) -> ApiError:
    return ApiError(404, f"product {product_id} does not exist")


async def list_products(request: web.Request) -> web.Response:
    query = parse_query(request, ProductQuery)
    async with db.connection(request.app) as conn, db.cursor(conn) as cur:
        rows, total = await queries.list_products(cur, query=query)
    return cached_json_response(
        request,
        {
            "items": rows,
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        },
    )


async def get_product(request: web.Request) -> web.Response:
    product_id = path_id(request)
    async with db.connection(request.app) as conn, db.cursor(conn) as cur:
        row = await queries.get_product(cur, product_id=product_id)
    if row is None:
        raise _not_found(product_id)
    return cached_json_response(request, row)


async def list_categories(request: web.Request) -> web.Response:
    async with db.connection(request.app) as conn, db.cursor(conn) as cur:
        rows = await queries.list_categories(cur)
    return cached_json_response(request, {"items": [dict(row) for row in rows]})


async def create_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    body = await read_json(request, ProductCreate)
    async with db.connection(request.app) as conn, db.transaction(conn) as cur:
        category_id = await queries.category_id(cur, slug=body.category)
        if category_id is None:
            raise _unknown_category(body.category)
        product_id = await queries.insert_product(
            cur,
            sku=body.sku,
            name=body.name,
            description=body.description,
            category_id=category_id,
            price=Decimal(body.price),
            stock=body.stock,
        )
        if product_id is None:
            raise ApiError(409, f"a product with SKU {body.sku} already exists")
        row = await queries.get_product(cur, product_id=product_id)
    location = request.app.router["product"].url_for(id=str(product_id))
    return json_response(row, status=201, headers={"Location": str(location)})


async def patch_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    product_id = path_id(request)
    body = await read_json(request, ProductPatch)
    changes = body.model_dump(exclude_none=True)
    async with db.connection(request.app) as conn, db.transaction(conn) as cur:
        if "category" in changes:
            category_id = await queries.category_id(cur, slug=changes.pop("category"))
            if category_id is None:
                raise _unknown_category(body.category)
            changes["category_id"] = category_id
        if "price" in changes:
            changes["price"] = Decimal(changes["price"])
        if not await queries.update_product(cur, product_id=product_id, changes=changes):
            raise _not_found(product_id)
        row = await queries.get_product(cur, product_id=product_id)
    return json_response(row)


async def delete_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    product_id = path_id(request)
    async with db.connection(request.app) as conn, db.cursor(conn) as cur:
        if not await queries.deactivate_product(cur, product_id=product_id):
            raise _not_found(product_id)
    return web.Response(status=204)


async def adjust_stock(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    product_id = path_id(request)
    body = await read_json(request, StockAdjustment)
    async with db.connection(request.app) as conn, db.transaction(conn) as cur:
        outcome = await queries.adjust_stock(
            cur, product_id=product_id, delta=body.delta, maximum=MAX_STOCK
        )
        if outcome == "not_found":
            raise _not_found(product_id)
        if outcome == "negative":
            raise ApiError(
                409, "the adjustment would make the stock negative", code="stock_conflict"
            )
        if outcome == "over_limit":
            raise ApiError(
                409,
                f"the adjustment would take the stock above the maximum of {MAX_STOCK}",
                code="stock_limit",
            )
        row = await queries.get_product(cur, product_id=product_id)
    # The audit trail of stock corrections: who asked (request id), what changed and why.
    log.info(
        "stock adjusted",
        extra={
            "product_id": product_id,
            "delta": body.delta,
            "stock": row["stock"],
            "reason": body.reason,
        },
    )
    return json_response(row)


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI, content_type="application/yaml")


def _unknown_category(slug: str | None) -> ApiError:
    # 409, not 422: the request is well formed (any slug is), it names a category that does not
    # exist now; creating the category makes the same request succeed.
    return ApiError(
        409,
        f"there is no category {slug!r}",
        code="unknown_category",
        details=[{"field": "category", "problem": f"unknown category {slug!r}"}],
    )
