"""The created-order body that orders.place_order builds in SQL (migration orders/0005) is byte for
byte what order-api's order_json() gives for the stored order, serialised by orjson: field order,
decimals, string escapes and timestamps, in any session time zone."""

import datetime as dt

import aiopg
import orjson
import psycopg2.extras
import pytest

from order_api import queries
from order_api.app import create_app
from order_api.models import OrderCreate
from order_api.orders import order_json
from order_api.settings import load_settings
from support import pg
from support.fixtures import SERVICE_HEADERS, service_env
from support.orders import new_key

# Product names and prices at the edges of JSON escaping and decimal formatting.
PRODUCTS = [
    ("Cable", "0.00"),
    ('Quote " and back\\slash /', "0.01"),
    ("Ünïcödé — ½ € 漢字 🚀", "1.00"),
    ("Line\u2028sep\u2029 and DEL \x7f", "10.50"),
    ("ctrl \x01\x08\x09\x0a\x0c\x0d\x1b\x1f end", "9999999.99"),
    ("</script><!-- & 'single' -->", "123.40"),
]
CUSTOMERS = [
    ("ada@example.com", "Ada Lovelace"),
    ("o'brien+tag@example.co.uk", 'Zoë "Z" Ñandú \\ 李'),
    ("x@y.io", "🙂" * 50),
]
ADDRESSES = [
    {"line1": "12 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "GB"},
    {
        "line1": "Straße 5 ½",
        "line2": 'c/o "Ü"',
        "city": "Köln",
        "postal_code": "50667",
        "country": "DE",
    },
]
TIME_ZONES = ["Etc/UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"]


@pytest.fixture
async def catalog(sql):
    await sql("INSERT INTO catalog.categories (slug, name) VALUES ('misc', 'Misc')")
    for n, (name, price) in enumerate(PRODUCTS, start=1):
        await sql(
            "INSERT INTO catalog.products (sku, name, category_id, price, stock)"
            " VALUES (%s, %s, 1, %s, 1000000)",
            (f"P-{n}", name, price),
        )
    return list(range(1, len(PRODUCTS) + 1))


async def stored_order(order_id: str, address: dict, time_zone: str) -> tuple[bytes, bytes]:
    """Python's body for the stored order and the stored idempotency response, read as
    order-api reads them, in a session in `time_zone`. The address is the request's, in its
    field order, as order-api answered before the body was built in SQL (the jsonb column keeps
    its own key order)."""
    async with (
        aiopg.connect(pg.service_url("order_api")) as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        await cur.execute("SET TIME ZONE %s", (time_zone,))
        row = await queries.get_order(cur, order_id=order_id)
        await cur.execute(
            "SELECT response_body FROM orders.idempotency_keys WHERE order_id = %s", (order_id,)
        )
        stored = (await cur.fetchone())["response_body"].encode()
    return orjson.dumps(order_json({**row, "shipping_address": address})), stored


@pytest.mark.parametrize("time_zone", TIME_ZONES)
async def test_sql_body_equals_order_json_of_the_stored_order(
    aiohttp_client, sql, catalog, time_zone
):
    # Every session of the service's role starts in `time_zone`.
    await sql(f"ALTER ROLE order_api SET TimeZone = '{time_zone}'")
    try:
        app = create_app(load_settings(service_env("order_api")))
        client = await aiohttp_client(app, headers=SERVICE_HEADERS)
        shapes = [
            [(1, 1)],
            [(2, 3), (1, 2)],
            [(pid, pid) for pid in reversed(catalog)],
            [(5, 100), (3, 7)],
            [(4, 1), (6, 9), (2, 100)],
        ]
        n = 0
        for lines in shapes:
            for email, name in CUSTOMERS:
                address = ADDRESSES[n % len(ADDRESSES)]
                n += 1
                body = {
                    "customer": {"email": email, "name": name},
                    "shipping_address": address,
                    "items": [{"product_id": p, "quantity": q} for p, q in lines],
                }
                key = new_key()
                response = await client.post("/orders", json=body, headers={"Idempotency-Key": key})
                assert response.status == 201, await response.text()
                created = await response.read()
                address_dump = OrderCreate.model_validate(body).shipping_address.model_dump()
                python_body, stored = await stored_order(
                    orjson.loads(created)["id"], address_dump, time_zone
                )
                assert created == python_body
                if time_zone != "Etc/UTC":  # the session's zone did reach the SQL-built body
                    assert not orjson.loads(created)["created_at"].endswith("+00:00")
                assert stored == created
                replay = await client.post("/orders", json=body, headers={"Idempotency-Key": key})
                assert replay.status == 201
                assert await replay.read() == created
    finally:
        await sql("ALTER ROLE order_api RESET TimeZone")


@pytest.mark.parametrize("time_zone", TIME_ZONES)
async def test_sql_isoformat_equals_python_isoformat(sql, time_zone):
    await sql("SET TIME ZONE %s", (time_zone,))
    stamps = [
        dt.datetime(2026, 11, 30, 1, 25, 21, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 1, 25, 21, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2000, 2, 29, 12, 0, 0, 500000, tzinfo=dt.UTC),
        dt.datetime(2030, 3, 31, 0, 0, 0, 120, tzinfo=dt.UTC),
    ]
    for stamp in stamps:
        row = (
            await sql("SELECT %s::timestamptz AS at, orders.isoformat(%s) AS text", (stamp,) * 2)
        )[0]
        assert row["text"] == row["at"].isoformat()
