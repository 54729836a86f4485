"""order-api tests run the real app on a real PostgreSQL (see tests/support/)."""

import pytest

from order_api.app import create_app
from order_api.settings import load_settings
from support.fixtures import SERVICE_HEADERS, service_env
from support.orders import new_key


@pytest.fixture
async def client(aiohttp_client, empty_db):
    # A pool and acquire timeout big enough for the 200-request races below.
    env = service_env("order_api", DB_POOL_MAX="20", DB_ACQUIRE_TIMEOUT_SECONDS="30")
    # Every request carries the shop's credential unless a test sends its own Authorization.
    return await aiohttp_client(create_app(load_settings(env)), headers=SERVICE_HEADERS)


@pytest.fixture
async def products(sql):
    """Three products: id 1 (10.50, stock 50), id 2 (3.00, stock 5), id 3 (99.99, stock 1)."""
    await sql("INSERT INTO catalog.categories (slug, name) VALUES ('misc', 'Misc')")
    await sql(
        """
        INSERT INTO catalog.products (sku, name, category_id, price, stock) VALUES
          ('P-1', 'Cable', 1, 10.50, 50), ('P-2', 'Adapter', 1, 3.00, 5),
          ('P-3', 'Rare Lamp', 1, 99.99, 1)
        """
    )
    return [1, 2, 3]


@pytest.fixture
def place(client):
    async def place(body: dict, key: str | None = None):
        headers = {"Idempotency-Key": key or new_key()}
        return await client.post("/orders", json=body, headers=headers)

    return place
