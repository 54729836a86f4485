"""Placing, reading, cancelling and shipping orders; bad input writes nothing."""

import re

import pytest

from support.orders import new_key, order_body


async def state(sql) -> dict:
    return {
        "stock": [r["stock"] for r in await sql("SELECT stock FROM catalog.products ORDER BY id")],
        "orders": (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"],
        "lines": (await sql("SELECT count(*) AS n FROM orders.order_lines"))[0]["n"],
        "keys": (await sql("SELECT count(*) AS n FROM orders.idempotency_keys"))[0]["n"],
    }


async def test_order_takes_catalog_prices_and_stock(place, products, sql):
    response = await place(order_body((2, 2), (1, 3)))
    assert response.status == 201, await response.text()
    order = await response.json()
    assert order["status"] == "confirmed"
    lines = [
        (i["product_id"], i["unit_price"], i["quantity"], i["line_total"]) for i in order["items"]
    ]
    assert lines == [(1, "10.50", 3, "31.50"), (2, "3.00", 2, "6.00")]
    assert order["total"] == "37.50"
    assert response.headers["Location"] == f"/orders/{order['id']}"
    assert (await state(sql))["stock"] == [47, 3, 1]


async def test_read_back_equals_the_created_answer(client, place, products):
    created = await (await place(order_body((1, 1)))).json()
    fetched = await (await client.get(f"/orders/{created['id']}")).json()
    assert fetched == created


async def test_short_line_rejects_the_whole_order(place, products, sql):
    before = await state(sql)
    response = await place(order_body((1, 5), (3, 2)))
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == {"lines": [{"product_id": 3, "requested": 2, "available": 1}]}
    assert await state(sql) == before


async def test_unknown_product_rejects_the_order(place, products, sql):
    before = await state(sql)
    response = await place(order_body((1, 1), (999, 1)))
    assert response.status == 409
    assert (await response.json())["error"]["details"]["lines"] == [
        {"product_id": 999, "requested": 1, "available": None}
    ]
    assert await state(sql) == before


def without(key: str, body: dict) -> dict:
    return {k: v for k, v in body.items() if k != key}


GOOD = order_body((1, 1))
ADDRESS = GOOD["shipping_address"]
BAD = [
    ("missing items", without("items", GOOD), 422),
    ("empty items", {**GOOD, "items": []}, 422),
    ("zero quantity", order_body((1, 0)), 422),
    ("negative quantity", order_body((1, -3)), 422),
    ("huge quantity", order_body((1, 10**12)), 422),
    ("string quantity", {**GOOD, "items": [{"product_id": 1, "quantity": "2"}]}, 422),
    ("client price", {**GOOD, "items": [{"product_id": 1, "quantity": 1, "price": "0.01"}]}, 422),
    ("client total", {**GOOD, "total": "0.01"}, 422),
    ("bad email", {**GOOD, "customer": {"email": "not-an-email", "name": "A"}}, 422),
    ("missing name", {**GOOD, "customer": {"email": "a@b.co"}}, 422),
    ("bad country", {**GOOD, "shipping_address": {**ADDRESS, "country": "U"}}, 422),
    ("product id zero", order_body((0, 1)), 422),
    ("huge product id", order_body((2**70, 1)), 422),
    ("too many lines", order_body(*[(i, 1) for i in range(1, 60)]), 422),
    ("long name", {**GOOD, "customer": {"email": "a@b.co", "name": "x" * 5000}}, 422),
    ("oversize body", {**GOOD, "customer": {"email": "a@b.co", "name": "x" * 100_000}}, 413),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "status"), BAD)
async def test_bad_input_is_4xx_and_writes_nothing(place, products, sql, case, body, status):
    before = await state(sql)
    response = await place(body)
    assert response.status == status, case
    assert set((await response.json())["error"]) == {"code", "message", "details"}
    assert await state(sql) == before


async def test_malformed_json_and_wrong_type_write_nothing(client, products, sql):
    before = await state(sql)
    key = {"Idempotency-Key": new_key()}
    malformed = await client.post(
        "/orders", data=b'{"items": [', headers={**key, "Content-Type": "application/json"}
    )
    assert malformed.status == 400
    form = await client.post("/orders", data=b"a=b", headers={**key, "Content-Type": "text/plain"})
    assert form.status == 415
    assert await state(sql) == before


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "idempotency_key_missing"), ({"Idempotency-Key": ""}, "idempotency_key_invalid"),
     ({"Idempotency-Key": "has space"}, "idempotency_key_invalid"),
     ({"Idempotency-Key": "k" * 256}, "idempotency_key_invalid")],
)  # fmt: skip
async def test_idempotency_key_is_required(client, products, sql, headers, code):
    before = await state(sql)
    response = await client.post("/orders", json=GOOD, headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code
    assert await state(sql) == before


async def test_list_by_email_is_paginated_and_case_insensitive(client, place, products):
    for _ in range(3):
        await place(order_body((1, 1), email="Grace@Example.com"))
    await place(order_body((1, 1), email="other@example.com"))
    page = await (
        await client.get("/orders", params={"email": "grace@example.COM", "limit": "2"})
    ).json()
    assert (page["total"], len(page["items"])) == (3, 2)
    rest = await (
        await client.get("/orders", params={"email": "grace@example.com", "offset": "2"})
    ).json()
    assert len(rest["items"]) == 1
    assert {o["id"] for o in page["items"]}.isdisjoint({o["id"] for o in rest["items"]})
    assert (await client.get("/orders")).status == 422
    assert (await client.get("/orders", params={"email": "x", "limit": "500"})).status == 422


@pytest.mark.parametrize("bad_id", ["abc", "1", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_order_is_404(client, products, bad_id):
    response = await client.get(f"/orders/{bad_id}")
    assert response.status == 404
    assert (await client.post(f"/orders/{bad_id}/cancel")).status == 404


async def test_cancel_gives_stock_back_and_only_from_confirmed(client, place, products, sql):
    order = await (await place(order_body((2, 5)))).json()
    assert (await state(sql))["stock"][1] == 0
    cancelled = await client.post(f"/orders/{order['id']}/cancel")
    assert (await cancelled.json())["status"] == "cancelled"
    assert (await state(sql))["stock"][1] == 5
    again = await client.post(f"/orders/{order['id']}/cancel")
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "invalid_transition"
    assert (await state(sql))["stock"][1] == 5


async def test_admin_moves_orders_forward_only(client, place, products, admin_headers):
    order = await (await place(order_body((1, 1)))).json()
    path = f"/orders/{order['id']}/status"
    no_token = {"Authorization": ""}  # the client sends the shop's credential by default
    assert (await client.post(path, json={"status": "shipped"}, headers=no_token)).status == 401
    wrong = {"Authorization": "Bearer nope-nope-nope-nope"}
    assert (await client.post(path, json={"status": "shipped"}, headers=wrong)).status == 403
    skip = await client.post(path, json={"status": "delivered"}, headers=admin_headers)
    assert skip.status == 409
    shipped = await client.post(path, json={"status": "shipped"}, headers=admin_headers)
    assert (await shipped.json())["status"] == "shipped"
    assert (await client.post(f"/orders/{order['id']}/cancel")).status == 409
    delivered = await client.post(path, json={"status": "delivered"}, headers=admin_headers)
    assert (await delivered.json())["status"] == "delivered"
    bad = await client.post(path, json={"status": "confirmed"}, headers=admin_headers)
    assert bad.status == 422


async def test_business_metrics_count_outcomes(client, place, products):
    await place(order_body((1, 2)))
    await place(order_body((3, 5)))
    await place(order_body((999, 1)))
    await client.post("/orders", json=GOOD)  # no key
    text = await (await client.get("/metrics")).text()
    assert 'orders_created_total{service="order-api"} 1' in text
    assert 'orders_value_total{service="order-api"} 21.0' in text
    assert 'orders_rejected_total{reason="insufficient_stock",service="order-api"} 1' in text
    assert 'orders_rejected_total{reason="unknown_product",service="order-api"} 1' in text
    assert 'orders_rejected_total{reason="invalid_request",service="order-api"} 1' in text
    assert 'stock_conflicts_total{service="order-api"} 1' in text
    # a service with a database exports its pool
    assert re.search(r'^db_pool_max\{service="order-api"\} \d', text, re.MULTILINE)
