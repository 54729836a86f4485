"""Request shapes of order-api. Unknown fields (a client-sent price, say) are rejected.

The text and number rules (control characters, ASCII digits, limits) are kit.validation's; the
OpenAPI document states the same rules (tests/api/test_openapi_fuzz.py holds them together).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from kit.jsonio import StrictBody, StrictQuery
from kit.validation import (
    MAX_ID,
    MAX_LINES,
    MAX_OFFSET,
    MAX_PAGE_LIMIT,
    MAX_QUANTITY,
    Email,
    OptionalLine,
    QueryInt,
    SingleLine,
)

Text = SingleLine(max_length=200)


class Customer(StrictBody):
    email: Email
    name: Text


class Address(StrictBody):
    line1: Text
    line2: OptionalLine(max_length=200) = ""
    city: Text
    postal_code: SingleLine(max_length=20)
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderLine(StrictBody):
    product_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class OrderCreate(StrictBody):
    customer: Customer
    shipping_address: Address
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]

    @field_validator("items")
    @classmethod
    def one_line_per_product(cls, items: list[OrderLine]) -> list[OrderLine]:
        """Lines naming the same product are added up into one line (first one's place): the
        OpenAPI document cannot forbid them, so the server accepts them. A merged line may hold
        up to MAX_LINES * MAX_QUANTITY, so the order total limit is unchanged."""
        merged: dict[int, int] = {}
        for line in items:
            merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
        if len(merged) == len(items):
            return items
        return [OrderLine.model_construct(product_id=pid, quantity=q) for pid, q in merged.items()]


class StatusChange(StrictBody):
    status: Literal["shipped", "delivered"]


class OrderQuery(StrictQuery):
    email: Email
    limit: QueryInt(minimum=1, maximum=MAX_PAGE_LIMIT) = 20
    offset: QueryInt(minimum=0, maximum=MAX_OFFSET) = 0
