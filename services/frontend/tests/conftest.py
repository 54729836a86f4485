"""frontend tests: the real frontend app in front of the real product-api and order-api apps, on
a real PostgreSQL (see tests/support/). Pages are read like a browser reads them: forms are
parsed out of the HTML and submitted with their hidden fields (CSRF token, idempotency key)."""

from __future__ import annotations

import pytest

from frontend.app import create_app
from frontend.settings import load_settings
from frontend.tests.browsing import Shop, base_url, frontend_env
from order_api.app import create_app as create_order_api
from order_api.settings import load_settings as order_api_settings
from product_api.app import create_app as create_product_api
from product_api.settings import load_settings as product_api_settings
from support.fixtures import ADMIN_TOKEN, service_env


@pytest.fixture
async def products(sql):
    """Thirty products. Ids: 1 Quiet Headphones (199.00, stock 5), 2 Tiny Earbuds (49.99, sold
    out), 3 Rugged Phone (399.50, stock 12), 4 Compact Phone (10.00, stock 3), 5-30 cables."""
    await sql(
        "INSERT INTO catalog.categories (slug, name)"
        " VALUES ('audio', 'Audio'), ('phones', 'Phones'), ('accessories', 'Accessories')"
    )
    await sql(
        """
        INSERT INTO catalog.products (sku, name, description, category_id, price, stock)
        VALUES
          ('AUD-1', 'Quiet Headphones', 'Noise cancelling over-ear headphones', 1, 199.00, 5),
          ('AUD-2', 'Tiny Earbuds', 'Wireless earbuds with a charging case', 1, 49.99, 0),
          ('PHO-1', 'Rugged Phone', 'A phone that survives drops', 2, 399.50, 12),
          ('PHO-2', 'Compact Phone', 'Small phone, big battery', 2, 10.00, 3)
        """
    )
    await sql(
        "INSERT INTO catalog.products (sku, name, description, category_id, price, stock)"
        " SELECT 'CAB-' || n, 'Cable ' || n, 'A braided cable', 3, 5 + n, 100"
        " FROM generate_series(5, 30) AS n"
    )
    return sql


@pytest.fixture
async def product_api(aiohttp_server, empty_db):
    return await aiohttp_server(
        create_product_api(product_api_settings(service_env("product_api")))
    )


@pytest.fixture
async def order_api(aiohttp_server, empty_db):
    return await aiohttp_server(create_order_api(order_api_settings(service_env("order_api"))))


@pytest.fixture
def make_shop(aiohttp_client):
    async def make(product_url: str, order_url: str, **overrides: str) -> Shop:
        app = create_app(load_settings(frontend_env(product_url, order_url, **overrides)))
        return Shop(await aiohttp_client(app), product_url, order_url)

    return make


@pytest.fixture
async def shop(make_shop, product_api, order_api, products) -> Shop:
    return await make_shop(base_url(product_api), base_url(order_api))


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
