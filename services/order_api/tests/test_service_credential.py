"""Orders hold personal data (names, e-mail and postal addresses): order-api answers only a caller
with the shop's service credential (ORDER_API_SERVICE_TOKEN, sent by the frontend as
ORDER_API_TOKEN). Without a well-formed credential every order endpoint is 401, with a wrong one
(the admin token included) 403, in the one error shape, and nothing is read or written."""

import aiohttp
import orjson
import pytest

from support.fixtures import ADMIN_TOKEN, SERVICE_HEADERS
from support.orders import new_key, order_body

# Routes anyone may call (probes, metrics, the API document) and the admin-only status change.
PUBLIC = {"/health", "/ready", "/metrics", "/openapi.yaml"}
ADMIN_ONLY = {("POST", "/orders/{id}/status")}
WRONG = [
    pytest.param({"Authorization": "Bearer not-the-service-token"}, id="another-token"),
    pytest.param({"Authorization": f"Bearer {ADMIN_TOKEN}"}, id="the-admin-token"),
]
MALFORMED = [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": ""}, id="empty"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
    pytest.param({"Authorization": "Bearer"}, id="no-token"),
    pytest.param({"Authorization": "Bearer a b"}, id="two-tokens"),
]


@pytest.fixture
async def placed(client, products):
    response = await client.post(
        "/orders", json=order_body((1, 2)), headers={"Idempotency-Key": new_key()}
    )
    assert response.status == 201
    return (await response.json())["id"]


def guarded_routes(client, order_id: str) -> list[tuple[str, str]]:
    """Every (method, path) of the real router that must demand the service credential."""
    routes = []
    for route in client.server.app.router.routes():
        path = route.resource.canonical
        if route.method == "HEAD" or path in PUBLIC or (route.method, path) in ADMIN_ONLY:
            continue
        routes.append((route.method, path.replace("{id}", order_id)))
    return routes


async def call(client, method: str, path: str, auth: dict[str, str]) -> tuple[int, dict, str]:
    """One request with exactly the `auth` headers given (the test client would add the shop's
    credential): (status, headers, body)."""
    kwargs: dict = {"headers": dict(auth)}
    if method == "POST" and path == "/orders":
        kwargs["json"] = order_body((1, 1))
        kwargs["headers"]["Idempotency-Key"] = new_key()
    if method == "GET" and path == "/orders":
        kwargs["params"] = {"email": "ada@example.com"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, client.make_url(path), **kwargs) as response,
    ):
        return response.status, dict(response.headers), await response.text()


def test_every_order_route_is_guarded(client):
    routes = guarded_routes(client, "x")
    assert sorted(routes) == [
        ("GET", "/orders"),
        ("GET", "/orders/x"),
        ("POST", "/orders"),
        ("POST", "/orders/x/cancel"),
    ]


@pytest.mark.parametrize("auth", MALFORMED)
async def test_without_the_credential_every_order_route_is_401_and_changes_nothing(
    client, placed, sql, auth
):
    for method, path in guarded_routes(client, placed):
        status, headers, body = await call(client, method, path, auth)
        assert status == 401, (method, path)
        assert headers["WWW-Authenticate"] == 'Bearer realm="techcommerce-service"'
        assert orjson.loads(body)["error"]["code"] == "unauthorized"
        assert "ada@example.com" not in body
    assert [r["status"] for r in await sql("SELECT status FROM orders.orders")] == ["confirmed"]
    assert (await sql("SELECT stock FROM catalog.products WHERE id = 1"))[0]["stock"] == 48


@pytest.mark.parametrize("auth", WRONG)
async def test_a_wrong_credential_is_403_and_changes_nothing(client, placed, sql, auth):
    for method, path in guarded_routes(client, placed):
        status, _headers, body = await call(client, method, path, auth)
        assert status == 403, (method, path)
        assert orjson.loads(body)["error"] == {
            "code": "forbidden",
            "message": "the service token is not valid",
            "details": None,
        }
    assert [r["status"] for r in await sql("SELECT status FROM orders.orders")] == ["confirmed"]
    assert (await sql("SELECT count(*) AS n FROM orders.idempotency_keys"))[0]["n"] == 1


async def test_with_the_credential_the_shop_reads_and_cancels(client, placed):
    assert (await client.get(f"/orders/{placed}", headers=SERVICE_HEADERS)).status == 200
    listed = await client.get("/orders", params={"email": "ada@example.com"})
    assert (await listed.json())["total"] == 1
    cancelled = await client.post(f"/orders/{placed}/cancel", headers=SERVICE_HEADERS)
    assert (await cancelled.json())["status"] == "cancelled"


async def test_the_status_change_takes_the_admin_token_not_the_service_token(client, placed):
    body = {"status": "shipped"}
    refused = await client.post(f"/orders/{placed}/status", json=body, headers=SERVICE_HEADERS)
    assert refused.status == 403
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    shipped = await client.post(f"/orders/{placed}/status", json=body, headers=admin)
    assert shipped.status == 200


@pytest.mark.parametrize("path", sorted(PUBLIC))
async def test_probes_metrics_and_the_document_need_no_credential(client, path):
    assert (await call(client, "GET", path, {}))[0] == 200
