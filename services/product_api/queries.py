"""The catalog's SQL. Every function takes a cursor and keyword arguments; all SQL is parameterised.

Rows come back as dicts (kit.db.DictCursor) already in the API's product shape: the columns are the
API's fields, and kit.jsonio writes numeric (Decimal) as a string and timestamptz as RFC 3339.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kit.db import Executor
from product_api.models import ProductQuery

PRODUCT_COLUMNS = """
    p.id, p.sku, p.name, p.description, c.slug AS category, p.price, p.stock,
    p.created_at, p.updated_at
"""
FROM_ACTIVE = "FROM catalog.products p JOIN catalog.categories c ON c.id = p.category_id"

SORTS = {
    "name": "p.name, p.id",
    "-name": "p.name DESC, p.id DESC",
    "price": "p.price, p.id",
    "-price": "p.price DESC, p.id DESC",
    "newest": "p.created_at DESC, p.id DESC",
    "relevance": "ts_rank(p.search, websearch_to_tsquery('english', %(q)s)) DESC, p.id",
}


async def list_products(cur: Executor, *, query: ProductQuery) -> tuple[list[dict], int]:
    """One page of active products matching `query`, and the total number of matches."""
    where = ["p.active"]
    params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
    if query.category is not None:
        where.append("c.slug = %(category)s")
        params["category"] = query.category
    if query.min_price is not None:
        where.append("p.price >= %(min_price)s")
        params["min_price"] = Decimal(query.min_price)
    if query.max_price is not None:
        where.append("p.price <= %(max_price)s")
        params["max_price"] = Decimal(query.max_price)
    if query.in_stock is True:
        where.append("p.stock > 0")
    elif query.in_stock is False:
        where.append("p.stock = 0")
    sort = query.sort or ("relevance" if query.q else "name")
    if query.q is not None:
        where.append("p.search @@ websearch_to_tsquery('english', %(q)s)")
        params["q"] = query.q
    elif sort == "relevance":
        sort = "name"  # nothing to rank by without a search text
    # Only fixed fragments from this module are joined into the statement; values are parameters.
    sql = (
        f"SELECT {PRODUCT_COLUMNS}, count(*) OVER () AS total {FROM_ACTIVE}"
        f" WHERE {' AND '.join(where)} ORDER BY {SORTS[sort]}"
        " LIMIT %(limit)s OFFSET %(offset)s"
    )
    await cur.execute(sql, params)
    rows = await cur.fetchall()
    if rows:
        total = rows[0]["total"]
        for row in rows:
            del row["total"]
        return rows, total
    if query.offset == 0:
        return [], 0
    # Past the last page: the window function saw no rows, so count separately.
    await cur.execute(
        f"SELECT count(*) AS total {FROM_ACTIVE} WHERE {' AND '.join(where)}",
        params,
    )
    return [], (await cur.fetchone())["total"]


async def get_product(cur: Executor, *, product_id: int) -> dict | None:
    await cur.execute(
        f"SELECT {PRODUCT_COLUMNS} {FROM_ACTIVE} WHERE p.active AND p.id = %(id)s",
        {"id": product_id},
    )
    return await cur.fetchone()


async def list_categories(cur: Executor) -> list[dict]:
    await cur.execute(
        """
        SELECT c.slug, c.name, count(p.id) AS product_count
          FROM catalog.categories c
          LEFT JOIN catalog.products p ON p.category_id = c.id AND p.active
         GROUP BY c.id
         ORDER BY c.name
        """
    )
    return await cur.fetchall()


async def category_id(cur: Executor, *, slug: str) -> int | None:
    await cur.execute("SELECT id FROM catalog.categories WHERE slug = %(slug)s", {"slug": slug})
    row = await cur.fetchone()
    return None if row is None else row["id"]


async def ensure_category(cur: Executor, *, slug: str, name: str) -> int:
    await cur.execute(
        """
        INSERT INTO catalog.categories (slug, name) VALUES (%(slug)s, %(name)s)
        ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name
        RETURNING id
        """,
        {"slug": slug, "name": name},
    )
    return (await cur.fetchone())["id"]


async def insert_product(
    cur: Executor, *, sku: str, name: str, description: str, category_id: int, price: Decimal,
    stock: int,
) -> int | None:  # fmt: skip
    """The new product's id, or None when the SKU is taken."""
    await cur.execute(
        """
        INSERT INTO catalog.products (sku, name, description, category_id, price, stock)
        VALUES (%(sku)s, %(name)s, %(description)s, %(category_id)s, %(price)s, %(stock)s)
        ON CONFLICT (sku) DO NOTHING
        RETURNING id
        """,
        {
            "sku": sku,
            "name": name,
            "description": description,
            "category_id": category_id,
            "price": price,
            "stock": stock,
        },
    )
    row = await cur.fetchone()
    return None if row is None else row["id"]


UPDATABLE = ("name", "description", "category_id", "price")


async def update_product(cur: Executor, *, product_id: int, changes: dict[str, Any]) -> bool:
    """Apply `changes` (keys from UPDATABLE) to an active product; False when it does not exist."""
    assignments = [f"{column} = %({column})s" for column in UPDATABLE if column in changes]
    assignments.append("updated_at = now()")
    await cur.execute(
        f"UPDATE catalog.products SET {', '.join(assignments)}"  # noqa: S608
        " WHERE id = %(id)s AND active",
        {**changes, "id": product_id},
    )
    return cur.rowcount == 1


async def deactivate_product(cur: Executor, *, product_id: int) -> bool:
    await cur.execute(
        "UPDATE catalog.products SET active = false, updated_at = now()"
        " WHERE id = %(id)s AND active",
        {"id": product_id},
    )
    return cur.rowcount == 1


async def add_stock(cur: Executor, *, product_id: int, delta: int, maximum: int) -> bool:
    """Add `delta` to an active product's stock in one statement, unless the result would be
    negative or an increase would pass `maximum`; whether it was added."""
    await cur.execute(
        """
        UPDATE catalog.products SET stock = stock + %(delta)s, updated_at = now()
         WHERE id = %(id)s AND active AND stock + %(delta)s >= 0
           AND (%(delta)s <= 0 OR stock + %(delta)s <= %(maximum)s)
        """,
        {"id": product_id, "delta": delta, "maximum": maximum},
    )
    return cur.rowcount == 1


async def stock_of(cur: Executor, *, product_id: int) -> int | None:
    """An active product's stock, or None."""
    await cur.execute(
        "SELECT stock FROM catalog.products WHERE id = %(id)s AND active", {"id": product_id}
    )
    row = await cur.fetchone()
    return None if row is None else row["stock"]
