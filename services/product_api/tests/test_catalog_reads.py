"""Reading the catalog: pagination, filters, search, sort, ETags, categories, bad ids."""

import pytest

from product_api.seed import demo_products


async def skus(response) -> list[str]:
    assert response.status == 200, await response.text()
    return [item["sku"] for item in (await response.json())["items"]]


async def test_product_shape_and_exact_money(client, small_catalog):
    response = await client.get(f"/products/{small_catalog['PHO-1']}")
    assert response.status == 200
    body = await response.json()
    assert body["price"] == "399.50"
    assert body["stock"] == 12
    assert body["category"] == "phones"
    assert set(body) == {
        "id", "sku", "name", "description", "category", "price", "stock", "created_at",
        "updated_at",
    }  # fmt: skip


async def test_pagination_walks_every_product_once(client, seeded):
    seen = []
    offset = 0
    while True:
        response = await client.get("/products", params={"limit": "100", "offset": str(offset)})
        page = await response.json()
        assert page["total"] == len(demo_products())
        seen += [item["id"] for item in page["items"]]
        if len(page["items"]) < 100:
            break
        offset += 100
    assert len(seen) == len(set(seen)) == len(demo_products()) == 240


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"offset": "-1"}, {"offset": "10001"},
     {"sort": "random"}, {"min_price": "-5"}, {"min_price": "1.999"}, {"in_stock": "maybe"},
     {"category": "Not A Slug"}, {"unknown": "1"}, {"q": ""}],
)  # fmt: skip
async def test_bad_query_parameters_are_422(client, small_catalog, params):
    response = await client.get("/products", params=params)
    assert response.status == 422
    body = await response.json()
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"]


async def test_repeated_parameter_is_422(client, small_catalog):
    response = await client.get("/products?limit=1&limit=2")
    assert response.status == 422


async def test_past_the_last_page_is_empty_with_the_total(client, small_catalog):
    page = await (await client.get("/products", params={"offset": "10"})).json()
    assert page["items"] == []
    assert page["total"] == 4


async def test_filters(client, small_catalog):
    assert await skus(await client.get("/products", params={"category": "audio"})) == [
        "AUD-1", "AUD-2",
    ]  # fmt: skip
    in_range = {"min_price": "40", "max_price": "200"}
    assert await skus(await client.get("/products", params=in_range)) == ["AUD-1", "AUD-2"]
    in_stock = await skus(await client.get("/products", params={"in_stock": "true"}))
    assert sorted(in_stock) == ["AUD-1", "PHO-1", "PHO-2"]
    assert await skus(await client.get("/products", params={"in_stock": "false"})) == ["AUD-2"]
    assert await skus(await client.get("/products", params={"category": "nothing-here"})) == []


async def test_search_matches_name_and_description(client, small_catalog):
    assert await skus(await client.get("/products", params={"q": "rugged"})) == ["PHO-1"]
    # "quiet" is in one name and one description; the name match ranks first
    assert await skus(await client.get("/products", params={"q": "quiet"})) == ["AUD-1", "PHO-2"]
    assert await skus(await client.get("/products", params={"q": "phone -rugged"})) == ["PHO-2"]
    assert await skus(await client.get("/products", params={"q": "zeppelin"})) == []


async def test_search_uses_the_index(seeded, sql):
    await sql("SET enable_seqscan = off")
    plan = await sql(
        "EXPLAIN SELECT id FROM catalog.products"
        " WHERE search @@ websearch_to_tsquery('english', 'laptop')"
    )
    assert "products_search_idx" in " ".join(row["QUERY PLAN"] for row in plan)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["PHO-2", "AUD-2", "AUD-1", "PHO-1"]),
        ("-price", ["PHO-1", "AUD-1", "AUD-2", "PHO-2"]),
        ("name", ["PHO-2", "AUD-1", "PHO-1", "AUD-2"]),
        ("-name", ["AUD-2", "PHO-1", "AUD-1", "PHO-2"]),
        ("newest", ["PHO-2", "PHO-1", "AUD-2", "AUD-1"]),
    ],
)
async def test_sorts(client, small_catalog, sort, expected):
    assert await skus(await client.get("/products", params={"sort": sort})) == expected


async def test_etag_gives_304_until_the_product_changes(client, small_catalog, admin_headers):
    path = f"/products/{small_catalog['AUD-1']}"
    first = await client.get(path)
    etag = first.headers["ETag"]
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    await client.patch(path, json={"price": "189.00"}, headers=admin_headers)
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status == 200
    assert (await changed.json())["price"] == "189.00"
    listing = await client.get("/products")
    cached = await client.get("/products", headers={"If-None-Match": listing.headers["ETag"]})
    assert cached.status == 304


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999", "1.5", "%20"])
async def test_bad_and_unknown_ids_are_404(client, small_catalog, bad_id):
    response = await client.get(f"/products/{bad_id}")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_unknown_id_is_404(client, small_catalog):
    response = await client.get("/products/999999")
    assert response.status == 404
    assert "999999" in (await response.json())["error"]["message"]


async def test_categories_count_active_products(client, small_catalog, admin_headers):
    await client.delete(f"/products/{small_catalog['PHO-2']}", headers=admin_headers)
    body = await (await client.get("/categories")).json()
    assert body == {
        "items": [
            {"slug": "audio", "name": "Audio", "product_count": 2},
            {"slug": "phones", "name": "Phones", "product_count": 1},
        ]
    }


async def test_openapi_document_is_served(client):
    response = await client.get("/openapi.yaml")
    assert response.status == 200
    assert (await response.text()).startswith("openapi: 3.")
