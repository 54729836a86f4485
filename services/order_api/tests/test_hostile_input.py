"""Hostile input over every route, body field, query parameter and header of order-api, on the
real app and a real PostgreSQL: no answer is a 5xx (a 5xx from input alone fires the
error-ratio alert and burns the SLO), nothing logs a traceback, nothing is written; and the
numeric limits hold: orders at the maximum price and quantity fit, and cancelling an order
whose product stands at the stock maximum works."""

from __future__ import annotations

import logging
from urllib.parse import quote

import orjson
from yarl import URL

from api.hostile import (
    Tally,
    assert_log_has_no_error,
    assert_no_traceback,
    integer_texts,
    json_number_boundaries,
    malformed_authorization_headers,
    malformed_other_headers,
    non_ascii_digit_strings,
    raw_requests,
    raw_requests_to_a_process,
    server_errors,
    texts_with_control_chars,
)
from kit.validation import MAX_ID, MAX_LINES, MAX_PRICE, MAX_QUANTITY, MAX_STOCK
from support.fixtures import SERVICE_TOKEN, service_env
from support.orders import new_key, order_body


async def order_state(sql) -> list:
    return [
        await sql("SELECT * FROM orders.orders ORDER BY id"),
        await sql("SELECT * FROM orders.order_lines ORDER BY order_id, product_id"),
        await sql("SELECT key FROM orders.idempotency_keys ORDER BY key"),
        await sql("SELECT id, stock, updated_at FROM catalog.products ORDER BY id"),
    ]


def with_field(body: dict, path: tuple[str, ...], value: object) -> dict:
    copy = {**body, path[0]: {**body[path[0]]}} if len(path) == 2 else {**body}
    if len(path) == 2:
        copy[path[0]][path[1]] = value
    else:
        copy[path[0]] = value
    return copy


TEXT_FIELDS = [
    ("customer", "email"),
    ("customer", "name"),
    ("shipping_address", "line1"),
    ("shipping_address", "line2"),
    ("shipping_address", "city"),
    ("shipping_address", "postal_code"),
    ("shipping_address", "country"),
]


async def test_hostile_input_never_5xx_which_would_fire_error_ratio_alert(
    client, products, sql, admin_headers, caplog
):
    caplog.set_level(logging.WARNING)
    good = order_body((1, 1))
    before = await order_state(sql)
    tally = Tally()

    async def place(body, key=None):
        headers = {"Idempotency-Key": key or new_key()}
        await tally.send(client, "POST", "/orders", {422}, json=body, headers=headers)

    for path in TEXT_FIELDS:
        for value in [*texts_with_control_chars(), None, 1]:
            await place(with_field(good, path, value))
    for value in ["a" * 65 + "@example.com", "1" * 300 + "@example.com", "\u0661@example.com"]:
        await place(with_field(good, ("customer", "email"), value))
    for value in json_number_boundaries(1, MAX_QUANTITY):
        await place({**good, "items": [{"product_id": 1, "quantity": value}]})
    for value in json_number_boundaries(1, MAX_ID):
        await place({**good, "items": [{"product_id": value, "quantity": 1}]})
    await place({**good, "items": [{"product_id": i, "quantity": 1} for i in range(1, 60)]})

    for key in [*texts_with_control_chars(), "", "k" * 256, "é", " ", "a b"]:
        try:
            headers = {"Idempotency-Key": key}
            response = await client.post("/orders", json=good, headers=headers)
        except ValueError:  # the client itself refuses CR/LF/NUL in a header
            continue
        tally.count += 1
        if response.status >= 500:
            tally.server_errors.append(f"{response.status} Idempotency-Key {key!r}")
        elif response.status not in (400, 201):
            tally.unexpected.append(f"{response.status} Idempotency-Key {key!r}")
        elif response.status == 201:
            tally.unexpected.append(f"accepted Idempotency-Key {key!r}")

    queries = {
        "email": [*texts_with_control_chars(), "", "x" * 300, "1" * 250 + "@a.co"],
        "limit": integer_texts(1, 100),
        "offset": integer_texts(0, 10_000),
    }
    for name, values in queries.items():
        for value in values:
            params = {"email": "ada@example.com", name: value}
            await tally.send(client, "GET", "/orders", {422}, params=params)

    for raw in [*integer_texts(1, 10), *texts_with_control_chars(), *non_ascii_digit_strings()]:
        segment = quote(raw, safe="")
        for method, suffix, expected, kwargs in [
            ("GET", "", {404}, {}),
            ("POST", "/cancel", {404}, {}),
            ("POST", "/status", {404}, {"json": {"status": "shipped"}, "headers": admin_headers}),
        ]:
            url = URL(f"/orders/{segment}{suffix}", encoded=True)
            await tally.send(client, method, url, expected, **kwargs)

    tally.assert_clean("order-api", at_least=1501)
    assert await order_state(sql) == before
    assert_no_traceback(caplog)


async def test_an_order_at_every_limit_fits_and_its_cancel_works_at_the_stock_maximum(
    client, sql, place
):
    """MAX_LINES lines at MAX_PRICE x MAX_QUANTITY: the largest order the API accepts is stored,
    and cancelling it when the products already stand at MAX_STOCK gives the stock back."""
    await sql("INSERT INTO catalog.categories (slug, name) VALUES ('big', 'Big')")
    await sql(
        "INSERT INTO catalog.products (sku, name, category_id, price, stock)"
        " SELECT 'BIG-' || n, 'Big ' || n, 1, %s, %s FROM generate_series(1, %s) AS n",
        (MAX_PRICE, MAX_STOCK, MAX_LINES),
    )
    body = order_body(*[(pid, MAX_QUANTITY) for pid in range(1, MAX_LINES + 1)])
    placed = await place(body)
    assert placed.status == 201, await placed.text()
    order = await placed.json()
    assert order["total"] == str(MAX_PRICE * MAX_QUANTITY * MAX_LINES)
    # an admin tops every product back up to the maximum, then the order is cancelled
    await sql("UPDATE catalog.products SET stock = %s", (MAX_STOCK,))
    cancelled = await client.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status == 200, await cancelled.text()
    stocks = await sql("SELECT DISTINCT stock FROM catalog.products")
    assert stocks == [{"stock": MAX_STOCK + MAX_QUANTITY}]


async def test_duplicate_product_lines_add_up_into_one_line(place, products):
    response = await place(order_body((1, 2), (2, 1), (1, 3)))
    assert response.status == 201
    items = (await response.json())["items"]
    assert [(i["product_id"], i["quantity"]) for i in items] == [(1, 5), (2, 1)]


async def test_cancelling_works_when_returned_stock_passes_the_32_bit_range(client, sql, place):
    """Stock given back by cancellations may pile up above MAX_STOCK; the bigint column holds
    it (db/migrations/catalog/0004), so the cancel still succeeds instead of overflowing."""
    await sql("INSERT INTO catalog.categories (slug, name) VALUES ('x', 'X')")
    await sql(
        "INSERT INTO catalog.products (sku, name, category_id, price, stock)"
        " VALUES ('X-1', 'X', 1, 1.00, %s)",
        (MAX_QUANTITY,),
    )
    placed = await place(order_body((1, MAX_QUANTITY)))
    assert placed.status == 201
    await sql("UPDATE catalog.products SET stock = %s", (2**31 - 1,))
    cancelled = await client.post(f"/orders/{(await placed.json())['id']}/cancel")
    assert cancelled.status == 200, await cancelled.text()
    stock = await sql("SELECT stock FROM catalog.products")
    assert stock == [{"stock": 2**31 - 1 + MAX_QUANTITY}]


async def test_malformed_authorization_is_401_never_500(products, sql):
    """Raw header bytes (not UTF-8, control bytes, oversized) on every order-api route, against
    the real process: 401 for what reaches the app, aiohttp's own 400 for what HTTP forbids, one
    log line each without a traceback, nothing written."""
    before = await order_state(sql)
    order_id = b"00000000-0000-4000-8000-000000000000"
    requests = raw_requests(
        [{b"Authorization": value} for value in malformed_authorization_headers()],
        [
            (b"POST /orders HTTP/1.1", orjson.dumps(order_body((1, 1)))),
            (b"GET /orders?email=ada@example.com HTTP/1.1", b""),
            (b"GET /orders/" + order_id + b" HTTP/1.1", b""),
            (b"POST /orders/" + order_id + b"/cancel HTTP/1.1", b""),
            (b"POST /orders/" + order_id + b"/status HTTP/1.1", b'{"status": "shipped"}'),
        ],
        base=lambda: {
            b"Idempotency-Key": new_key().encode(),
            b"Content-Type": b"application/json",
        },
    )
    statuses, log = await raw_requests_to_a_process("order_api", service_env("order_api"), requests)
    assert statuses and all(status in (400, 401) for status in statuses), statuses
    assert statuses.count(401) >= 5 * 10
    assert_log_has_no_error(log)
    assert await order_state(sql) == before


async def test_malformed_headers_never_5xx_which_would_fire_error_ratio_alert(products, sql):
    """Other headers order-api reads (Idempotency-Key, Content-Type, X-Request-ID, ...) with raw
    bytes that are not UTF-8, odd syntax or oversized: never a 5xx, never a traceback, no order."""
    before = await order_state(sql)
    order_id = b"00000000-0000-4000-8000-000000000000"
    shop = {b"Authorization": f"Bearer {SERVICE_TOKEN}".encode()}
    requests = raw_requests(
        malformed_other_headers(),
        [
            (b"POST /orders HTTP/1.1", b"{}"),
            (b"GET /orders?email=ada@example.com HTTP/1.1", b""),
            (b"GET /orders/" + order_id + b" HTTP/1.1", b""),
            (b"POST /orders/" + order_id + b"/cancel HTTP/1.1", b""),
        ],
        base=lambda: {
            **shop,
            b"Content-Type": b"application/json",
            b"Idempotency-Key": new_key().encode(),
        },
    )
    statuses, log = await raw_requests_to_a_process("order_api", service_env("order_api"), requests)
    assert server_errors(statuses, requests) == []
    assert_log_has_no_error(log)
    assert await order_state(sql) == before


async def test_every_schema_valid_idempotency_key_is_accepted(place, products):
    """Any 1-255 visible ASCII characters (the document's pattern) is a key; a structured-field
    string "abc" is the key abc, and a lone or empty pair of quotes is a key of its own."""
    for key in ['"', '""', "'", "~", "k" * 255, '"' + "q" * 253 + '"']:
        response = await place(order_body((1, 1)), key=key)
        assert response.status == 201, (key, await response.text())
    first = await place(order_body((2, 1)), key='"same-key"')
    again = await place(order_body((2, 1)), key="same-key")
    assert (first.status, again.status) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
