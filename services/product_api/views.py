"""product-api handlers: check the caller, read input, call the catalog's rules, shape the
answer."""

from __future__ import annotations

import logging

from aiohttp import web

from kit.auth import require_admin
from kit.jsonio import cached_json_response, json_response, parse_query, path_id, read_json
from product_api import catalog
from product_api.keys import SETTINGS
from product_api.models import ProductCreate, ProductPatch, ProductQuery, StockAdjustment

log = logging.getLogger("product_api")


async def list_products(request: web.Request) -> web.Response:
    query = parse_query(request, ProductQuery)
    rows, total = await catalog.list_products(request.app, query)
    return cached_json_response(
        request, {"items": rows, "total": total, "limit": query.limit, "offset": query.offset}
    )


async def get_product(request: web.Request) -> web.Response:
    return cached_json_response(request, await catalog.get_product(request.app, path_id(request)))


async def list_categories(request: web.Request) -> web.Response:
    return cached_json_response(request, {"items": await catalog.list_categories(request.app)})


async def create_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    row = await catalog.create_product(request.app, await read_json(request, ProductCreate))
    location = request.app.router["product"].url_for(id=str(row["id"]))
    return json_response(row, status=201, headers={"Location": str(location)})


async def patch_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    product_id = path_id(request)
    patch = await read_json(request, ProductPatch)
    return json_response(await catalog.patch_product(request.app, product_id, patch))


async def delete_product(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    await catalog.deactivate_product(request.app, path_id(request))
    return web.Response(status=204)


async def adjust_stock(request: web.Request) -> web.Response:
    require_admin(request, request.app[SETTINGS].admin_token)
    product_id = path_id(request)
    adjustment = await read_json(request, StockAdjustment)
    row = await catalog.adjust_stock(request.app, product_id, adjustment)
    # The audit trail of stock corrections: who asked (request id), what changed and why.
    log.info(
        "stock adjusted",
        extra={
            "product_id": product_id,
            "delta": adjustment.delta,
            "stock": row["stock"],
            "reason": adjustment.reason,
        },
    )
    return json_response(row)
