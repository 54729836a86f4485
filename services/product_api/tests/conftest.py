"""product-api tests run the real app on a real PostgreSQL (see tests/support/)."""

import pytest

from product_api.app import create_app
from product_api.seed import seed
from product_api.settings import load_settings
from support.fixtures import PRODUCT_CACHE_ON, service_env


@pytest.fixture
async def client(aiohttp_client, empty_db):
    """The app with its read cache on, as in production."""
    env = service_env("product_api", **PRODUCT_CACHE_ON)
    return await aiohttp_client(create_app(load_settings(env)))


@pytest.fixture
async def seeded(empty_db):
    await seed(empty_db)
    return empty_db


@pytest.fixture
async def small_catalog(sql):
    """Four products in two categories with known prices, stock and ages."""
    await sql(
        "INSERT INTO catalog.categories (slug, name)"
        " VALUES ('audio', 'Audio'), ('phones', 'Phones')"
    )
    await sql(
        """
        INSERT INTO catalog.products (sku, name, description, category_id, price, stock, created_at)
        VALUES
          ('AUD-1', 'Quiet Headphones', 'Noise cancelling over-ear headphones', 1, 199.00, 5,
           now() - interval '3 days'),
          ('AUD-2', 'Tiny Earbuds', 'Wireless earbuds with a charging case', 1, 49.99, 0,
           now() - interval '2 days'),
          ('PHO-1', 'Rugged Phone', 'A phone that survives drops', 2, 399.50, 12,
           now() - interval '1 day'),
          ('PHO-2', 'Compact Phone', 'Small phone, big battery, quiet ringer', 2, 10.00, 3, now())
        """
    )
    return {row["sku"]: row["id"] for row in await sql("SELECT sku, id FROM catalog.products")}
