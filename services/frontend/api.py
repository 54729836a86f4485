"""The shop's view of product-api and order-api: one facade each, over a ServiceClient
(service_client.py: timeouts, retries, errors).

- Catalog reads go through a TtlCache (ttl_cache.py): concurrent requests for the same URL share
  one call, answers are reused for CATALOG_CACHE_SECONDS and refreshed in the background after.
- Writes are never retried blindly. The one exception: order-api answers 409
  `idempotency_in_flight` while the first request with the same Idempotency-Key is still running
  (a double click). Asking again with the same key is safe by construction, so `create_order`
  waits briefly and asks again to learn the outcome of the first request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from frontend.service_client import ServiceClient, Unavailable, UpstreamError
from frontend.shapes import Category, Order, Product, ProductPage
from frontend.ttl_cache import TtlCache

PRODUCT_API = "product-api"
ORDER_API = "order-api"
IN_FLIGHT_WAIT_SECONDS = (0.1, 0.2, 0.4, 0.8)


class ProductApi:
    def __init__(self, client: ServiceClient, cache: TtlCache) -> None:
        self.client = client
        self.cache = cache

    async def list_products(self, params: Mapping[str, str]) -> ProductPage:
        key = ("products", tuple(sorted(params.items())))
        page = await self.cache.get(key, lambda: self.client.get("/products", params))
        if page is None:  # the list endpoint has no 404; treat one as a broken upstream
            raise Unavailable(PRODUCT_API, "HTTP 404 on /products")
        return page

    async def get_product(self, product_id: int) -> Product | None:
        return await self.cache.get(
            ("product", product_id), lambda: self.client.get(f"/products/{product_id}")
        )

    async def categories(self) -> list[Category]:
        answer = await self.cache.get(("categories",), lambda: self.client.get("/categories"))
        return answer["items"] if answer else []


class OrderApi:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def create_order(self, body: dict[str, Any], idempotency_key: str) -> Order:
        """The created (or replayed) order; UpstreamError for a refusal, Unavailable otherwise."""
        headers = {"Idempotency-Key": idempotency_key}
        for wait in (*IN_FLIGHT_WAIT_SECONDS, None):
            try:
                _status, order = await self.client.send("POST", "/orders", body, headers)
                return order
            except UpstreamError as err:
                if err.code != "idempotency_in_flight" or wait is None:
                    raise
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_order(self, order_id: str) -> Order | None:
        return await self.client.get(f"/orders/{order_id}")

    async def cancel_order(self, order_id: str) -> Order:
        _status, order = await self.client.send("POST", f"/orders/{order_id}/cancel")
        return order
