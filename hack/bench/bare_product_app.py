"""The baseline for the product-api benchmark: the same queries served by a bare aiohttp+aiopg
handler, with no middleware, no metrics, no logging, no validation layer."""

import os

import aiopg
import orjson
import psycopg2.extras
from aiohttp import web

# The same statements product-api runs (same columns and types: numeric, timestamptz).
SQL_ONE = """
SELECT p.id, p.sku, p.name, p.description, c.slug AS category, p.price, p.stock,
       p.created_at, p.updated_at
  FROM catalog.products p JOIN catalog.categories c ON c.id = p.category_id
 WHERE p.active AND p.id = %s
"""
SQL_SEARCH = """
SELECT p.id, p.sku, p.name, p.description, c.slug AS category, p.price, p.stock,
       p.created_at, p.updated_at, count(*) OVER () AS total
  FROM catalog.products p JOIN catalog.categories c ON c.id = p.category_id
 WHERE p.active AND p.search @@ websearch_to_tsquery('english', %s)
 ORDER BY ts_rank(p.search, websearch_to_tsquery('english', %s)) DESC, p.id
 LIMIT 20 OFFSET 0
"""


async def one(request):
    async with (
        request.app["pool"].acquire() as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute(SQL_ONE, (int(request.match_info["id"]),))
        row = await cur.fetchone()
    if row is None:
        raise web.HTTPNotFound()
    return web.Response(body=orjson.dumps(row, default=str), content_type="application/json")


async def search(request):
    q = request.query["q"]
    async with (
        request.app["pool"].acquire() as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute(SQL_SEARCH, (q, q))
        rows = await cur.fetchall()
    body = orjson.dumps({"items": rows}, default=str)
    return web.Response(body=body, content_type="application/json")


async def health(_request):
    return web.Response(text="ok")


async def pool(app):
    app["pool"] = await aiopg.create_pool(os.environ["DATABASE_URL"], minsize=1, maxsize=10)
    yield
    app["pool"].close()
    await app["pool"].wait_closed()


def main():
    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_get("/products/{id}", one)
    app.router.add_get("/products", search)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)


if __name__ == "__main__":
    main()
