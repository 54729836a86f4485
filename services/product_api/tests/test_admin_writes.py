"""Admin writes: token guard, validation, and bad input changing nothing."""

import logging

import pytest

NEW = {
    "sku": "AUD-9",
    "name": "Studio Monitor Headphones",
    "description": "Flat response",
    "category": "audio",
    "price": "129.90",
    "stock": 7,
}


async def snapshot(sql) -> list[dict]:
    return await sql(
        "SELECT id, sku, name, description, category_id, price, stock, active, updated_at"
        " FROM catalog.products ORDER BY id"
    )


async def test_create_returns_201_with_location(client, small_catalog, admin_headers):
    response = await client.post("/products", json=NEW, headers=admin_headers)
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["price"] == "129.90"
    assert response.headers["Location"] == f"/products/{body['id']}"
    fetched = await (await client.get(response.headers["Location"])).json()
    assert fetched == body


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": "Basic x"}, 401),
    ],
)
async def test_admin_endpoints_need_the_token(client, small_catalog, sql, headers, status):
    before = await snapshot(sql)
    pid = small_catalog["AUD-1"]
    attempts = [
        client.post("/products", json=NEW, headers=headers),
        client.patch(f"/products/{pid}", json={"price": "1.00"}, headers=headers),
        client.delete(f"/products/{pid}", headers=headers),
        client.post(f"/products/{pid}/stock", json={"delta": -5}, headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status == status
        assert (await response.json())["error"]["code"] in {"unauthorized", "forbidden"}
    assert await snapshot(sql) == before


BAD_BODIES = [
    ("malformed JSON", b'{"sku": "X-1",', "application/json", 400),
    ("not JSON content type", b"sku=X", "application/x-www-form-urlencoded", 415),
    ("array instead of object", b"[]", "application/json", 422),
    ("unknown field", {**NEW, "colour": "red"}, None, 422),
    ("negative price", {**NEW, "price": "-1.00"}, None, 422),
    ("float price", {**NEW, "price": 12.5}, None, 422),
    ("three decimals", {**NEW, "price": "1.005"}, None, 422),
    ("string stock", {**NEW, "stock": "7"}, None, 422),
    ("negative stock", {**NEW, "stock": -1}, None, 422),
    ("empty name", {**NEW, "name": "  "}, None, 422),
    ("bad sku", {**NEW, "sku": "lower-case"}, None, 422),
    ("unknown category", {**NEW, "category": "garden"}, None, 409),
    ("missing field", {k: v for k, v in NEW.items() if k != "price"}, None, 422),
    ("huge body", {**NEW, "description": "x" * 200_000}, None, 413),
]


@pytest.mark.parametrize(("case", "body", "content_type", "status"), BAD_BODIES)
async def test_bad_create_is_4xx_and_changes_nothing(
    client, small_catalog, sql, admin_headers, case, body, content_type, status
):
    before = await snapshot(sql)
    if content_type is None:
        response = await client.post("/products", json=body, headers=admin_headers)
    else:
        headers = {**admin_headers, "Content-Type": content_type}
        response = await client.post("/products", data=body, headers=headers)
    assert response.status == status, case
    error = (await response.json())["error"]
    assert set(error) == {"code", "message", "details"}
    assert await snapshot(sql) == before


async def test_validation_details_name_the_field(client, small_catalog, admin_headers):
    response = await client.post("/products", json={**NEW, "price": "-1"}, headers=admin_headers)
    details = (await response.json())["error"]["details"]
    assert [d["field"] for d in details] == ["price"]


async def test_duplicate_sku_is_409(client, small_catalog, sql, admin_headers):
    before = await snapshot(sql)
    response = await client.post("/products", json={**NEW, "sku": "AUD-1"}, headers=admin_headers)
    assert response.status == 409
    assert await snapshot(sql) == before


async def test_patch_changes_only_given_fields(client, small_catalog, admin_headers):
    pid = small_catalog["PHO-1"]
    response = await client.patch(
        f"/products/{pid}", json={"price": "379.00", "category": "audio"}, headers=admin_headers
    )
    assert response.status == 200
    body = await response.json()
    assert (body["price"], body["category"], body["name"]) == ("379.00", "audio", "Rugged Phone")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"stock": 5}, 422),
        ({"price": "abc"}, 422),
        ({"category": "garden"}, 409),
        ({"name": ""}, 422),
        ({"name": None}, 422),
        ({"category": None}, 422),
        ({"id": 3}, 422),
    ],
)
async def test_bad_patch_changes_nothing(client, small_catalog, sql, admin_headers, body, status):
    before = await snapshot(sql)
    response = await client.patch(
        f"/products/{small_catalog['PHO-1']}", json=body, headers=admin_headers
    )
    assert response.status == status
    assert await snapshot(sql) == before


async def test_patch_unknown_product_is_404(client, small_catalog, admin_headers):
    response = await client.patch("/products/4242", json={"name": "x"}, headers=admin_headers)
    assert response.status == 404


async def test_delete_hides_the_product(client, small_catalog, admin_headers):
    pid = small_catalog["AUD-2"]
    assert (await client.delete(f"/products/{pid}", headers=admin_headers)).status == 204
    assert (await client.get(f"/products/{pid}")).status == 404
    listed = await (await client.get("/products")).json()
    assert pid not in [item["id"] for item in listed["items"]]
    assert (await client.delete(f"/products/{pid}", headers=admin_headers)).status == 404


async def test_stock_adjustments(client, small_catalog, sql, admin_headers):
    path = f"/products/{small_catalog['AUD-1']}/stock"
    up = await client.post(path, json={"delta": 10, "reason": "delivery"}, headers=admin_headers)
    assert (await up.json())["stock"] == 15
    down = await client.post(path, json={"delta": -15}, headers=admin_headers)
    assert (await down.json())["stock"] == 0
    before = await snapshot(sql)
    too_far = await client.post(path, json={"delta": -1}, headers=admin_headers)
    assert too_far.status == 409
    assert (await too_far.json())["error"]["code"] == "stock_conflict"
    assert await snapshot(sql) == before
    unknown = await client.post("/products/777/stock", json={"delta": 1}, headers=admin_headers)
    assert unknown.status == 404


async def test_a_stock_adjustment_is_logged_with_its_reason(
    client, small_catalog, admin_headers, caplog
):
    """The reason is not stored with the product: it goes to the audit log line, with the
    request id, so a stock correction can be traced."""
    caplog.set_level(logging.INFO, logger="product_api")
    product_id = small_catalog["AUD-1"]
    response = await client.post(
        f"/products/{product_id}/stock",
        json={"delta": 3, "reason": "recount after audit"},
        headers={**admin_headers, "X-Request-ID": "a" * 32},
    )
    assert response.status == 200
    (record,) = [r for r in caplog.records if r.getMessage() == "stock adjusted"]
    assert (record.product_id, record.delta, record.stock) == (product_id, 3, 8)
    assert record.reason == "recount after audit"
