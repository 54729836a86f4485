"""The kit's middlewares on a real app: error shape, request ids, metrics labels, body limit."""

import asyncio
import io
import json
import logging

import pytest
from aiohttp import web

from kit.app import create_base_app
from kit.errors import ApiError
from kit.http_client import client_session_context, downstream_headers
from kit.keys import HTTP_CLIENT
from kit.logging import JsonFormatter
from kit.settings import HttpSettings

HTTP = HttpSettings(
    port=0, log_level="INFO", max_body_bytes=2048, drain_seconds=0, shutdown_timeout_seconds=5
)


async def item(request: web.Request) -> web.Response:
    logging.getLogger("test.item").info("serving item", extra={"item": request.match_info["id"]})
    return web.json_response({"id": request.match_info["id"]})


async def boom(_request: web.Request) -> web.Response:
    raise RuntimeError("secret internals /etc/passwd")


async def conflict(_request: web.Request) -> web.Response:
    raise ApiError(409, "already there", details={"hint": "x"})


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"size": len(await request.read())})


def make_app() -> web.Application:
    app = create_base_app("test-svc", HTTP)
    app.router.add_get("/items/{id}", item)
    app.router.add_get("/boom", boom)
    app.router.add_get("/conflict", conflict)
    app.router.add_post("/echo", echo)
    return app


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app())


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/items/1", 405, "method_not_allowed"),
        ("GET", "/conflict", 409, "conflict"),
        ("GET", "/boom", 500, "internal_error"),
    ],
)
async def test_every_error_has_the_json_shape(client, method, path, status, code):
    response = await client.request(method, path)
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert_error_shape(body, code)


async def test_unhandled_error_hides_internals(client):
    response = await client.get("/boom")
    text = await response.text()
    assert "passwd" not in text
    assert "Traceback" not in text


async def test_method_not_allowed_lists_allowed_methods(client):
    response = await client.delete("/items/1")
    assert "GET" in response.headers["Allow"]


async def test_body_over_the_limit_is_413(client):
    response = await client.post("/echo", data=b"x" * 4096)
    assert response.status == 413
    assert_error_shape(await response.json(), "payload_too_large")
    small = await client.post("/echo", data=b"x" * 100)
    assert (await small.json()) == {"size": 100}


async def test_request_id_is_honoured_or_made(client):
    given = await client.get("/items/1", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = await client.get("/items/1")
    assert len(made.headers["X-Request-ID"]) == 32
    hostile = await client.get("/items/1", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["X-Request-ID"] != "bad id\twith spaces"
    error = await client.get("/nowhere", headers={"X-Request-ID": "err-1"})
    assert error.headers["X-Request-ID"] == "err-1"


async def test_log_lines_carry_the_request_id(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test-svc"))
    logger = logging.getLogger("test.item")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await client.get("/items/42", headers={"X-Request-ID": "trace-me"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "trace-me"
    assert line["msg"] == "serving item"
    assert line["item"] == "42"
    assert line["service"] == "test-svc"


def samples(metrics_text: str, name: str) -> dict[str, float]:
    found = {}
    for line in metrics_text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            found[labels[len(name) :]] = float(value)
    return found


async def test_metrics_use_route_patterns_and_final_statuses(client):
    for path in ("/items/1", "/items/2", "/items/3", "/boom", "/nowhere", "/health", "/ready"):
        await client.get(path)
    text = await (await client.get("/metrics")).text()
    counts = samples(text, "http_requests_total")
    assert counts['{method="GET",route="/items/{id}",service="test-svc",status="200"}'] == 3.0
    assert counts['{method="GET",route="/boom",service="test-svc",status="500"}'] == 1.0
    assert counts['{method="GET",route="unmatched",service="test-svc",status="404"}'] == 1.0
    assert not any("/items/1" in labels for labels in counts)
    assert not any(probe in text for probe in ('route="/health"', 'route="/ready"', '/metrics"'))
    buckets = samples(text, "http_request_duration_seconds_bucket")
    assert '{le="2.0",method="GET",route="/items/{id}",service="test-svc"}' in buckets
    assert samples(text, "http_requests_in_flight") == {'{service="test-svc"}': 0.0}
    assert "db_pool_" not in text  # no database, no pool metrics


async def slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)
    return web.json_response({})


async def test_in_flight_gauge_counts_running_requests(aiohttp_client):
    app = make_app()
    app.router.add_get("/slow", slow)
    client = await aiohttp_client(app)
    pending = asyncio.ensure_future(client.get("/slow"))
    await asyncio.sleep(0.1)
    text = await (await client.get("/metrics")).text()
    assert samples(text, "http_requests_in_flight") == {'{service="test-svc"}': 1.0}
    await pending


async def test_request_id_travels_to_downstream_calls(aiohttp_client):
    seen = {}

    async def downstream(request: web.Request) -> web.Response:
        seen["id"] = request.headers.get("X-Request-ID")
        return web.json_response({})

    backend_app = create_base_app("backend", HTTP)
    backend_app.router.add_get("/thing", downstream)
    backend = await aiohttp_client(backend_app)

    async def calls_backend(request: web.Request) -> web.Response:
        async with request.app[HTTP_CLIENT].get(
            str(backend.make_url("/thing")), headers=downstream_headers({"Accept": "*/*"})
        ) as response:
            return web.json_response({"status": response.status})

    front_app = create_base_app("front", HTTP)
    front_app.cleanup_ctx.append(client_session_context(total_timeout=2))
    front_app.router.add_get("/call", calls_backend)
    front = await aiohttp_client(front_app)

    response = await front.get("/call", headers={"X-Request-ID": "chain-7"})
    assert (await response.json()) == {"status": 200}
    assert seen["id"] == "chain-7"
