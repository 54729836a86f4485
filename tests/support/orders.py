"""Builders for order-api requests in tests."""

import itertools
import uuid

_run = uuid.uuid4().hex[:8]
_keys = itertools.count(1)


def new_key() -> str:
    """An idempotency key unique in this test session."""
    return f"test-{_run}-{next(_keys)}"


def order_body(*lines: tuple[int, int], email: str = "ada@example.com") -> dict:
    return {
        "customer": {"email": email, "name": "Ada Lovelace"},
        "shipping_address": {
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB",
        },
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
    }
