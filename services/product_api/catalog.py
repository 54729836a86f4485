"""The catalog's rules: what a read finds, what a write may change, and the error when it may
not. Handlers (views.py) read input and shape answers; SQL lives in queries.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from kit import db
from kit.errors import ApiError
from kit.validation import MAX_STOCK
from product_api import queries
from product_api.keys import PRODUCT_CACHE
from product_api.models import ProductCreate, ProductPatch, ProductQuery, StockAdjustment
from product_api.read_cache import ListKey


def not_found(product_id: int) -> ApiError:
    return ApiError(404, f"product {product_id} does not exist")


def unknown_category(slug: str | None) -> ApiError:
    # 409, not 422: the request is well formed (any slug is), it names a category that does not
    # exist now; creating the category makes the same request succeed.
    return ApiError(
        409,
        f"there is no category {slug!r}",
        code="unknown_category",
        details=[{"field": "category", "problem": f"unknown category {slug!r}"}],
    )


def list_key(query: ProductQuery) -> ListKey:
    """The read cache's key of a list: every parameter of the query, in the model's order."""
    return tuple(getattr(query, name) for name in ProductQuery.model_fields)


async def list_products(app: web.Application, query: ProductQuery) -> tuple[list[Any], int]:
    """A page of active products and the number of all matches, from the read cache when it
    holds this very query's answer (see read_cache.py)."""
    cache = app.get(PRODUCT_CACHE)
    if cache is not None:
        key = list_key(query)
        answer = cache.get(key)
        if answer is not None:
            return answer
        token = cache.token()
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        answer = await queries.list_products(cur, query=query)
    if cache is not None:
        cache.put_list(key, answer, token)
    return answer


async def get_product(app: web.Application, product_id: int) -> dict[str, Any]:
    """An active product, from the read cache when it holds it (see read_cache.py)."""
    cache = app.get(PRODUCT_CACHE)
    if cache is not None:
        row = cache.get(product_id)
        if row is not None:
            return row
        token = cache.token()
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        row = await queries.get_product(cur, product_id=product_id)
    if row is None:
        raise not_found(product_id)
    if cache is not None:
        cache.put(product_id, row, token)
    return row


def changed(app: web.Application, product_id: int) -> None:
    """A write of this process committed: its own next read (of the product or of any list) must
    not wait for the notification (other replicas learn of it from the notification)."""
    cache = app.get(PRODUCT_CACHE)
    if cache is not None:
        cache.invalidate(product_id)


async def list_categories(app: web.Application) -> list[dict[str, Any]]:
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        return [dict(row) for row in await queries.list_categories(cur)]


async def create_product(app: web.Application, new: ProductCreate) -> dict[str, Any]:
    async with db.connection(app) as conn, db.transaction(conn) as cur:
        category_id = await queries.category_id(cur, slug=new.category)
        if category_id is None:
            raise unknown_category(new.category)
        product_id = await queries.insert_product(
            cur,
            sku=new.sku,
            name=new.name,
            description=new.description,
            category_id=category_id,
            price=Decimal(new.price),
            stock=new.stock,
        )
        if product_id is None:
            raise ApiError(409, f"a product with SKU {new.sku} already exists")
        row = await queries.get_product(cur, product_id=product_id)
    changed(app, product_id)
    return row


async def patch_product(
    app: web.Application, product_id: int, patch: ProductPatch
) -> dict[str, Any]:
    changes = patch.model_dump(exclude_none=True)
    async with db.connection(app) as conn, db.transaction(conn) as cur:
        if "category" in changes:
            category_id = await queries.category_id(cur, slug=changes.pop("category"))
            if category_id is None:
                raise unknown_category(patch.category)
            changes["category_id"] = category_id
        if "price" in changes:
            changes["price"] = Decimal(changes["price"])
        if not await queries.update_product(cur, product_id=product_id, changes=changes):
            raise not_found(product_id)
        row = await queries.get_product(cur, product_id=product_id)
    changed(app, product_id)
    return row


async def deactivate_product(app: web.Application, product_id: int) -> None:
    async with db.connection(app) as conn, db.cursor(conn) as cur:
        if not await queries.deactivate_product(cur, product_id=product_id):
            raise not_found(product_id)
    changed(app, product_id)


async def adjust_stock(
    app: web.Application, product_id: int, adjustment: StockAdjustment
) -> dict[str, Any]:
    """Add the adjustment's delta to the stock. An increase may not take the stock above
    MAX_STOCK; a decrease is always allowed down to 0 (stock given back by cancelled orders may
    stand above the maximum)."""
    delta = adjustment.delta
    async with db.connection(app) as conn, db.transaction(conn) as cur:
        if not await queries.add_stock(cur, product_id=product_id, delta=delta, maximum=MAX_STOCK):
            stock = await queries.stock_of(cur, product_id=product_id)
            if stock is None:
                raise not_found(product_id)
            if stock + delta < 0:
                raise ApiError(
                    409, "the adjustment would make the stock negative", code="stock_conflict"
                )
            raise ApiError(
                409,
                f"the adjustment would take the stock above the maximum of {MAX_STOCK}",
                code="stock_limit",
            )
        row = await queries.get_product(cur, product_id=product_id)
    changed(app, product_id)
    return row
