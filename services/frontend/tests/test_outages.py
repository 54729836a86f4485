"""Behaviour under failure: an API down, slow or flaky. Readiness never follows the APIs."""

import asyncio
import time

import pytest
from aiohttp import web

from frontend.tests.browsing import ADDRESS, HTML, Forms, base_url, closed_url, text_of
from localpg import free_port
from order_api.app import create_app as create_order_api
from order_api.settings import load_settings as order_api_settings
from product_api.app import create_app as create_product_api
from product_api.settings import load_settings as product_api_settings
from support.fixtures import service_env


async def test_product_api_down_gives_a_friendly_503_page_and_the_pod_stays_ready(
    make_shop, order_api
):
    shop = await make_shop(closed_url(), base_url(order_api))
    for path in ("/", "/products/1"):
        response = await shop.client.get(path, headers={**HTML, "X-Request-ID": "outage-1"})
        html = await response.text()
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert "The shop is taking a short break" in text_of(html)
        assert "outage-1" in html  # the support reference
        assert "Traceback" not in html and "ClientConnectorError" not in html

    api_client = await shop.client.get("/products/1", headers={"Accept": "application/json"})
    assert api_client.status == 503
    assert (await api_client.json())["error"]["code"] == "service_unavailable"

    assert (await shop.client.get("/health")).status == 200
    ready = await shop.client.get("/ready")
    assert ready.status == 200  # one API outage must not take every frontend pod out
    detail = await shop.client.get("/ready/dependencies")
    assert detail.status == 503
    body = await detail.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["product-api"]["status"].startswith("unreachable")
    assert body["dependencies"]["order-api"]["status"] == "ok"


async def test_the_cart_survives_a_product_api_outage(
    aiohttp_server, make_shop, order_api, products
):
    port = free_port()
    settings = product_api_settings(service_env("product_api"))
    server = await aiohttp_server(create_product_api(settings), port=port)
    shop = await make_shop(base_url(server), base_url(order_api))
    await shop.add(1, 2)

    await server.close()
    assert (await shop.client.get("/cart", headers=HTML)).status == 503

    await aiohttp_server(create_product_api(settings), port=port)
    assert await shop.cart_quantities() == {1: 2}


async def test_order_api_down_keeps_the_cart_and_a_retry_places_exactly_one_order(
    aiohttp_server, make_shop, product_api, products
):
    port = free_port()
    shop = await make_shop(base_url(product_api), f"http://127.0.0.1:{port}")
    await shop.add(3, 1)
    fields = Forms(await shop.page("/checkout")).get("/checkout")
    fields.update(ADDRESS)

    html = await shop.post_page("/checkout", fields, status=503)
    assert "We could not reach our order system" in text_of(html)
    assert "Your cart is saved" in text_of(html)
    retry = Forms(html).get("/checkout")
    assert retry["name"] == ADDRESS["name"]
    # the same key: if the lost attempt had gone through, the retry would return that order
    assert retry["idempotency_key"] == fields["idempotency_key"]
    assert await shop.cart_quantities() == {3: 1}
    assert (await shop.client.get("/ready")).status == 200

    # the order API comes back; the shopper presses the button again
    await aiohttp_server(create_order_api(order_api_settings(service_env("order_api"))), port=port)
    placed = await shop.post("/checkout", retry)
    assert placed.status == 200 and placed.url.path.startswith("/orders/")
    assert "Thank you! Your order is confirmed." in text_of(await placed.text())
    assert (await products("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 1


async def test_order_pages_say_orders_are_unavailable(make_shop, product_api, products):
    shop = await make_shop(base_url(product_api), closed_url())
    response = await shop.submit(
        "/orders/lookup",
        "/orders/lookup",
        {"order_id": "0b6f1c8e-8d1c-4d55-9a55-2b2d3c4e5f60", "email": "ada@example.com"},
    )
    assert response.status == 503
    assert "Orders are unavailable right now" in text_of(await response.text())


@pytest.fixture
async def black_hole():
    """A server that accepts connections and never answers: a hung API."""
    connections = []

    async def swallow(reader, writer):
        connections.append(writer)
        await reader.read(1 << 16)
        await asyncio.sleep(3600)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in connections:
        writer.close()
    server.close()


async def test_a_hung_api_costs_one_timeout_then_a_503_page(make_shop, black_hole, order_api):
    shop = await make_shop(black_hole, base_url(order_api), HTTP_TIMEOUT_SECONDS="0.5")
    started = time.monotonic()
    response = await shop.client.get("/products/1", headers=HTML)
    elapsed = time.monotonic() - started
    assert response.status == 503
    assert "short break" in text_of(await response.text())
    assert 0.5 <= elapsed < 1.4  # one timeout: a timed-out read is not retried


class FlakyApi:
    """A stand-in upstream whose failures a test scripts: requests to `path` get `statuses` in
    turn, then (like every other request) a normal answer."""

    def __init__(self, statuses: list[int], path: str = "/products/7") -> None:
        self.statuses = statuses
        self.path = path
        self.hits: list[web.Request] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(request)
        if request.path == self.path and self.statuses:
            status = self.statuses.pop(0)
            return web.json_response(
                {"error": {"code": "x", "message": "", "details": None}}, status=status
            )
        if request.path == "/categories":
            return web.json_response({"items": []})
        return web.json_response(
            {
                "id": 7,
                "sku": "F-7",
                "name": "Flaky Lamp",
                "description": "",
                "category": "x",
                "price": "5.00",
                "stock": 2,
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00+00:00",
            }
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


async def test_reads_are_retried_on_503_with_the_request_id(aiohttp_server, make_shop, order_api):
    flaky = FlakyApi([503, 502])
    upstream = await aiohttp_server(flaky.app())
    shop = await make_shop(base_url(upstream), base_url(order_api))
    response = await shop.client.get("/products/7", headers={**HTML, "X-Request-ID": "trace-7"})
    assert response.status == 200
    assert "Flaky Lamp" in text_of(await response.text())
    product_reads = [hit for hit in flaky.hits if hit.path == "/products/7"]
    assert len(product_reads) == 3  # two failures, then the answer
    assert {hit.headers["X-Request-ID"] for hit in flaky.hits} == {"trace-7"}


async def test_reads_give_up_after_three_tries(aiohttp_server, make_shop, order_api):
    flaky = FlakyApi([503] * 10)
    upstream = await aiohttp_server(flaky.app())
    shop = await make_shop(base_url(upstream), base_url(order_api))
    response = await shop.client.get("/products/7", headers=HTML)
    assert response.status == 503
    assert len([hit for hit in flaky.hits if hit.path == "/products/7"]) == 3


async def test_a_client_error_is_not_retried(aiohttp_server, make_shop, order_api):
    flaky = FlakyApi([404])
    upstream = await aiohttp_server(flaky.app())
    shop = await make_shop(base_url(upstream), base_url(order_api))
    response = await shop.client.get("/products/7", headers=HTML)
    assert response.status == 404
    assert len([hit for hit in flaky.hits if hit.path == "/products/7"]) == 1


async def test_placing_an_order_is_not_retried_on_a_server_error(
    aiohttp_server, make_shop, product_api, products
):
    flaky = FlakyApi([503, 503, 503], path="/orders")
    upstream = await aiohttp_server(flaky.app())
    shop = await make_shop(base_url(product_api), base_url(upstream))
    await shop.add(3)
    fields = Forms(await shop.page("/checkout")).get("/checkout")
    fields.update(ADDRESS)
    response = await shop.post("/checkout", fields)
    assert response.status == 503
    assert len([hit for hit in flaky.hits if hit.method == "POST"]) == 1
    assert flaky.hits[0].headers["Idempotency-Key"] == fields["idempotency_key"]
