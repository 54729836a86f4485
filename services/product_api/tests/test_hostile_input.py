"""Hostile input over every route, body field, query parameter and header of product-api, on the
real app and a real PostgreSQL: no answer is a 5xx (a 5xx from input alone fires the
error-ratio alert and burns the SLO), nothing logs a traceback, and nothing is written."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from yarl import URL

from api.hostile import (
    Tally,
    assert_log_has_no_error,
    assert_no_traceback,
    integer_texts,
    json_error_answers,
    json_number_boundaries,
    malformed_authorization_headers,
    malformed_other_headers,
    money_texts,
    non_ascii_digit_strings,
    raw_requests,
    raw_requests_to_a_process,
    server_errors,
    texts_with_control_chars,
)
from kit.validation import MAX_OFFSET, MAX_PAGE_LIMIT, MAX_STOCK
from support.fixtures import ADMIN_TOKEN, PRODUCT_CACHE_ON, service_env

VALID = {"sku": "NEW-1", "name": "New thing", "category": "audio", "price": "1.00", "stock": 1}


async def catalog_state(sql) -> list:
    return [
        await sql("SELECT * FROM catalog.products ORDER BY id"),
        await sql("SELECT * FROM catalog.categories ORDER BY id"),
    ]


def hostile_query_values() -> dict[str, list[str]]:
    ints = {
        "limit": integer_texts(1, MAX_PAGE_LIMIT),
        "offset": integer_texts(0, MAX_OFFSET),
    }
    text = texts_with_control_chars()
    return {
        **ints,
        "min_price": money_texts(),
        "max_price": money_texts(),
        "category": [*text, *non_ascii_digit_strings()[:20], "Audio", "a--b"],
        "q": [*text, "", " "],
        "in_stock": ["yes", "1", "0", "on", "True", "\x00", "t"],
        "sort": ["random", "\x00", "name\x00"],
    }


def hostile_body_fields() -> dict[str, list[object]]:
    text = texts_with_control_chars()
    return {
        "sku": [*text, "ab", "١٢٣"],
        "name": [*text, "", " ", None, 1],
        "description": [*texts_with_control_chars(multiline=True), None],
        "category": [*text, "Audio", None],
        "price": [*money_texts(), 1, 1.5, None],
        "stock": json_number_boundaries(0, MAX_STOCK),
    }


async def test_hostile_input_never_5xx_which_would_fire_error_ratio_alert(
    client, small_catalog, sql, admin_headers, caplog
):
    caplog.set_level(logging.WARNING)
    before = await catalog_state(sql)
    pid = small_catalog["AUD-1"]
    tally = Tally(json_error_answers)

    for name, values in hostile_query_values().items():
        for value in values:
            await tally.send(client, "GET", "/products", {422}, params={name: value})

    for raw in [*integer_texts(1, 2**63 - 1), *texts_with_control_chars()]:
        segment = quote(raw, safe="")
        for method, suffix, body in [
            ("GET", "", None),
            ("PATCH", "", {"name": "x"}),
            ("DELETE", "", None),
            ("POST", "/stock", {"delta": 1}),
        ]:
            url = URL(f"/products/{segment}{suffix}", encoded=True)
            await tally.send(client, method, url, {404}, json=body, headers=admin_headers)

    for name, values in hostile_body_fields().items():
        for value in values:
            body = {**VALID, name: value}
            await tally.send(client, "POST", "/products", {422}, json=body, headers=admin_headers)
            if name in ("name", "description", "category", "price"):
                await tally.send(
                    client, "PATCH", f"/products/{pid}", {422}, json={name: value},
                    headers=admin_headers,
                )  # fmt: skip

    for value in json_number_boundaries(-MAX_STOCK, MAX_STOCK):
        body = {"delta": value}
        await tally.send(
            client, "POST", f"/products/{pid}/stock", {422}, json=body, headers=admin_headers
        )
    for value in texts_with_control_chars(multiline=True):
        body = {"delta": 1, "reason": value}
        await tally.send(
            client, "POST", f"/products/{pid}/stock", {422}, json=body, headers=admin_headers
        )

    tally.assert_clean("product-api", at_least=3001)
    assert await catalog_state(sql) == before
    assert_no_traceback(caplog)


async def test_stock_at_its_limit_adjusts_cleanly_and_never_overflows(
    client, small_catalog, sql, admin_headers
):
    pid = small_catalog["PHO-1"]
    stock = (await sql("SELECT stock FROM catalog.products WHERE id = %s", (pid,)))[0]["stock"]
    to_limit = await client.post(
        f"/products/{pid}/stock", json={"delta": MAX_STOCK - stock}, headers=admin_headers
    )
    assert to_limit.status == 200
    assert (await to_limit.json())["stock"] == MAX_STOCK
    over = await client.post(f"/products/{pid}/stock", json={"delta": 1}, headers=admin_headers)
    assert over.status == 409
    assert (await over.json())["error"]["code"] == "stock_limit"
    down = await client.post(f"/products/{pid}/stock", json={"delta": -1}, headers=admin_headers)
    assert (await down.json())["stock"] == MAX_STOCK - 1


async def test_malformed_authorization_is_401_never_500(small_catalog, sql):
    """Raw header bytes (not UTF-8, control bytes, oversized) against the real process: 401 for
    what reaches the app, aiohttp's own 400 for what HTTP forbids, and one log line each without
    a traceback."""
    before = await catalog_state(sql)
    requests = raw_requests(
        [{b"Authorization": value} for value in malformed_authorization_headers()],
        [
            (b"POST /products HTTP/1.1", b"{}"),
            (b"PATCH /products/1 HTTP/1.1", b"{}"),
            (b"DELETE /products/1 HTTP/1.1", b""),
            (b"POST /products/1/stock HTTP/1.1", b"{}"),
        ],
        base=lambda: {b"Content-Type": b"application/json"},
    )
    env = service_env("product_api", **PRODUCT_CACHE_ON)
    statuses, log = await raw_requests_to_a_process("product_api", env, requests)
    assert statuses and all(status in (400, 401, 431) for status in statuses), statuses
    assert statuses.count(401) >= 4 * 10
    assert_log_has_no_error(log)
    assert await catalog_state(sql) == before


@pytest.mark.parametrize("path", ["/products/%C2%B2", "/products/%D9%A1", "/products/%EF%BC%91"])
async def test_non_ascii_digit_ids_are_404_not_an_alias(client, small_catalog, path):
    response = await client.get(URL(path, encoded=True))
    assert response.status == 404


async def test_stock_above_the_32_bit_range_adjusts_down_and_refuses_up(
    client, small_catalog, sql, admin_headers
):
    """Cancellations may leave stock above MAX_STOCK (even past 2^31-1, which bigint holds): an
    increase is a clean 409, a decrease works, the product reads back."""
    pid = small_catalog["PHO-1"]
    await sql("UPDATE catalog.products SET stock = %s WHERE id = %s", (2**31 - 1, pid))
    up = await client.post(f"/products/{pid}/stock", json={"delta": 1}, headers=admin_headers)
    assert up.status == 409
    down = await client.post(f"/products/{pid}/stock", json={"delta": -1}, headers=admin_headers)
    assert down.status == 200
    assert (await down.json())["stock"] == 2**31 - 2
    assert (await client.get(f"/products/{pid}")).status == 200


async def test_malformed_headers_never_5xx_which_would_fire_error_ratio_alert(small_catalog, sql):
    """Other headers product-api reads (Content-Type, If-None-Match, X-Request-ID, ...) with raw
    bytes that are not UTF-8, odd syntax or oversized: never a 5xx, never a traceback."""
    before = await catalog_state(sql)
    admin = {b"Authorization": f"Bearer {ADMIN_TOKEN}".encode()}
    requests = raw_requests(
        malformed_other_headers(),
        [
            (b"GET /products HTTP/1.1", b""),
            (b"GET /products/1 HTTP/1.1", b""),
            (b"GET /categories HTTP/1.1", b""),
            (b"POST /products HTTP/1.1", b"{}"),
            (b"PATCH /products/1 HTTP/1.1", b"{}"),
            (b"POST /products/1/stock HTTP/1.1", b'{"delta": 1}'),
        ],
        base=lambda: {**admin, b"Content-Type": b"application/json"},
    )
    env = service_env("product_api", **PRODUCT_CACHE_ON)
    statuses, log = await raw_requests_to_a_process("product_api", env, requests)
    assert server_errors(statuses, requests) == []
    assert_log_has_no_error(log)
    # the PATCH {} and the stock adjustment are valid requests and may apply; nothing else
    after = await catalog_state(sql)
    assert [p["id"] for p in after[0]] == [p["id"] for p in before[0]]
    assert after[1] == before[1]
