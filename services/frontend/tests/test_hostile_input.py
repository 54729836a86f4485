"""Hostile input over every page, form and query parameter of the shop, in front of the real
APIs on a real PostgreSQL: no answer is a 5xx (a 5xx from input alone fires the error-ratio
alert and burns the SLO), a bad field is a form error (never "order system unreachable"),
nothing logs a traceback and nothing is written."""

from __future__ import annotations

import logging
from urllib.parse import quote

from yarl import URL

from api.hostile import (
    Tally,
    assert_log_has_no_error,
    assert_no_traceback,
    integer_texts,
    malformed_other_headers,
    money_texts,
    non_ascii_digit_strings,
    raw_requests,
    raw_requests_to_a_process,
    send_raw_requests,
    server_errors,
    texts_with_control_chars,
)
from frontend.forms import FIELDS
from frontend.tests.browsing import ADDRESS, HTML, Forms, base_url, frontend_env

UNREACHABLE = "could not reach our order system"


async def shop_state(sql) -> list:
    return [
        await sql("SELECT id, stock, updated_at FROM catalog.products ORDER BY id"),
        await sql("SELECT count(*) AS n FROM orders.orders"),
    ]


def never_unreachable(_status: int, _content_type: str, body: bytes) -> str | None:
    """A refused field is the shopper's to fix: never blamed on the order system."""
    return "'unreachable' shown" if UNREACHABLE.encode() in body else None


async def test_hostile_input_never_5xx_which_would_fire_error_ratio_alert(shop, sql, caplog):
    caplog.set_level(logging.WARNING)
    client = shop.client
    tally = Tally(never_unreachable)
    await shop.add(3, 1)  # a cart, so the checkout and cart forms exist
    before = await shop_state(sql)

    async def get(url, expected):
        await tally.send(client, "GET", url, expected, headers=HTML)

    async def post(action, fields, expected):
        await tally.send(client, "POST", action, expected, data=fields, headers=HTML)

    catalog_values = {
        "page": integer_texts(1, 400),
        "min_price": money_texts(),
        "max_price": money_texts(),
        "q": texts_with_control_chars(),
        "category": [*texts_with_control_chars(), *non_ascii_digit_strings()[:20]],
        "in_stock": ["\x00", "yes", "\u0661"],
        "sort": ["\x00", "random"],
    }
    for name, values in catalog_values.items():
        for value in values:
            await get(URL("/").with_query({name: value}), {200})

    csrf = Forms(await shop.page("/cart")).get("/cart/items/3")["csrf_token"]
    for raw in [*integer_texts(1, 2**63 - 1), *texts_with_control_chars()]:
        segment = quote(raw, safe="")
        await get(URL(f"/products/{segment}", encoded=True), {404})
        await post(URL(f"/cart/items/{segment}", encoded=True), {"csrf_token": csrf,
                   "quantity": "1"}, {200})  # fmt: skip
        await post(URL(f"/cart/items/{segment}/remove", encoded=True), {"csrf_token": csrf},
                   {200})  # fmt: skip
        await get(URL(f"/orders/{segment}", encoded=True), {200, 404})  # lookup form or 404
        await post(URL(f"/orders/{segment}/cancel", encoded=True), {"csrf_token": csrf},
                   {200, 404})  # fmt: skip
        await get(URL("/orders/lookup").with_query({"order_id": raw}), {200})

    add_form = Forms(await shop.page("/products/3")).get("/cart/items")
    for value in integer_texts(1, 100):
        await post("/cart/items", {**add_form, "quantity": value}, {200})
        await post("/cart/items", {**add_form, "product_id": value}, {404})
    cart_form = Forms(await shop.page("/cart")).get("/cart/items/3")
    for value in integer_texts(0, 100):
        await post("/cart/items/3", {**cart_form, "quantity": value}, {200})

    checkout = Forms(await shop.page("/checkout")).get("/checkout")
    for name in FIELDS:
        for value in texts_with_control_chars():
            fields = {**checkout, **ADDRESS, name: value}
            response = await client.post("/checkout", data=fields, headers=HTML)
            body = await response.text()
            tally.record(f"POST /checkout {name}={value!r}", response.status,
                         response.content_type, body.encode(), {422})  # fmt: skip
            if response.status == 422 and 'aria-invalid="true"' not in body:
                tally.unexpected.append(f"no field error for {name}={value!r}")

    lookup = Forms(await shop.page("/orders/lookup")).get("/orders/lookup")
    for name in ("order_id", "email"):
        for value in [*texts_with_control_chars(), *non_ascii_digit_strings()[:30]]:
            await post("/orders/lookup", {**lookup, name: value}, {404, 422})

    tally.assert_clean("shop", at_least=1501)
    assert await shop_state(sql) == before
    assert_no_traceback(caplog)


MALFORMED_HEADERS = [
    {b"Cookie": b"tc_session=\xff\xfe.abc"},
    {b"Cookie": b"tc_session=caf\xc3\xa9.sig"},
    {b"Cookie": b"tc_session=" + b"a" * 3000 + b"." + b"b" * 43},
    {b"Cookie": b"tc_session=\xed\xa0\x80"},
    {b"Cookie": b"tc_session=..."},
    {b"Accept": b"text/html\xff"},
    {b"Accept-Language": b"\xff\xfe"},
    {b"X-Request-ID": b"\xff\xfe"},
    {b"If-None-Match": b'"\xff"'},
    {b"Authorization": b"Bearer \xff"},
    {b"Referer": b"http://\xff/"},
]


# Every kind of shop page, as request line and form body.
SHOP_ROUTES = [
    (b"GET / HTTP/1.1", b""),
    (b"GET /products/3 HTTP/1.1", b""),
    (b"GET /cart HTTP/1.1", b""),
    (b"GET /checkout HTTP/1.1", b""),
    (b"GET /orders/lookup HTTP/1.1", b""),
    (b"POST /cart/items HTTP/1.1", b"product_id=3&quantity=1"),
    (b"POST /checkout HTTP/1.1", b"name=x"),
]
FORM = {b"Content-Type": b"application/x-www-form-urlencoded"}

MULTIPART = b"multipart/form-data; boundary=XyZ"
MALFORMED_FORMS = [
    (b"csrf_token=%FF%FE&product_id=%FF&quantity=1", b"application/x-www-form-urlencoded"),
    (b"csrf_token=\xff\xfe&product_id=\xff", b"application/x-www-form-urlencoded"),
    (b"name=%00&email=%ED%A0%80", b"application/x-www-form-urlencoded; charset=latin-1"),
    (b"a=b", b"application/x-www-form-urlencoded; charset=no-such-charset"),
    (
        b'--XyZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n\xff\xfe\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="quantity"\r\n\r\n\xd9\xa1\r\n--XyZ--\r\n',
        MULTIPART,
    ),
    (
        b'--XyZ\r\nContent-Disposition: form-data; name="csrf_token"; filename="x"\r\n\r\n'
        b"abc\r\n--XyZ--\r\n",
        MULTIPART,
    ),
    (b"--XyZ\r\nbroken", MULTIPART),
]


async def test_malformed_headers_never_5xx_which_would_fire_error_ratio_alert(shop, sql, caplog):
    """Header bytes that are not UTF-8 (a tampered session cookie, Accept, request id) on every
    kind of shop page: the shop answers as if the header were absent or refuses with 4xx."""
    caplog.set_level(logging.WARNING)
    before = await shop_state(sql)
    requests = raw_requests(MALFORMED_HEADERS, SHOP_ROUTES, base=lambda: FORM)
    requests += [
        (request_line, {b"Content-Type": content_type}, body)
        for request_line in (b"POST /cart/items HTTP/1.1", b"POST /checkout HTTP/1.1")
        for body, content_type in MALFORMED_FORMS
    ]
    statuses = await send_raw_requests(shop.client.server.port, requests)
    assert server_errors(statuses, requests) == []
    assert await shop_state(sql) == before
    assert_no_traceback(caplog)


async def test_the_apis_malformed_headers_never_5xx_in_the_shop_process(
    product_api, order_api, sql
):
    """The malformed headers the APIs are sent (broken framing, header names that are not
    tokens, oversized or non-UTF-8 values) at the shop as a real process, where the kit's log
    filter turns aiohttp's refusals into warnings: a 4xx or an answer, never a 5xx, no error line
    or traceback in its log, nothing written."""
    before = await shop_state(sql)
    env = frontend_env(base_url(product_api), base_url(order_api))
    requests = raw_requests(malformed_other_headers(), SHOP_ROUTES, base=lambda: FORM)
    statuses, log = await raw_requests_to_a_process("frontend", env, requests)
    assert server_errors(statuses, requests) == []
    assert "malformed HTTP request refused" in log  # the corpus reached aiohttp's refusals
    assert_log_has_no_error(log)
    assert await shop_state(sql) == before
