"""The baseline of the product-api benchmark: the same statements served by a bare aiohttp+aiopg
handler, with no middleware, no metrics, no access log, no validation layer, no cache.

It runs on the event loop EVENT_LOOP names (uvloop, or asyncio by default like the APIs), as the
services do, so a ratio between the two compares the code on top of the same loop.

    PORT=5100 DATABASE_URL=... EVENT_LOOP=uvloop python -m hack.bench.bare_product_app
"""

import asyncio
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
POOL = web.AppKey("pool", aiopg.Pool)


async def one(request: web.Request) -> web.Response:
    async with (
        request.app[POOL].acquire() as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute(SQL_ONE, (int(request.match_info["id"]),))
        row = await cur.fetchone()
    if row is None:
        raise web.HTTPNotFound()
    return web.Response(body=orjson.dumps(row, default=str), content_type="application/json")


async def search(request: web.Request) -> web.Response:
    q = request.query["q"]
    async with (
        request.app[POOL].acquire() as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute(SQL_SEARCH, (q, q))
        rows = await cur.fetchall()
    body = orjson.dumps({"items": rows}, default=str)
    return web.Response(body=body, content_type="application/json")


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def pool(app: web.Application):
    app[POOL] = await aiopg.create_pool(os.environ["DATABASE_URL"], minsize=1, maxsize=10)
    yield
    app[POOL].close()
    await app[POOL].wait_closed()


def new_event_loop() -> asyncio.AbstractEventLoop:
    if os.environ.get("EVENT_LOOP", "asyncio") == "uvloop":  # the APIs' default: asyncio
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main() -> None:
    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_get("/products/{id}", one)
    app.router.add_get("/products", search)
    app.router.add_get("/health", health)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        access_log=None,
        print=None,
        loop=new_event_loop(),
    )


if __name__ == "__main__":
    main()
