"""Request shapes of order-api. Unknown fields (a client-sent price, say) are rejected."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
    ),
]
MAX_QUANTITY = 100
MAX_LINES = 50


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Customer(Strict):
    email: Email
    name: Text


class Address(Strict):
    line1: Text
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    city: Text
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderLine(Strict):
    product_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class OrderCreate(Strict):
    customer: Customer
    shipping_address: Address
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]

    @field_validator("items")
    @classmethod
    def one_line_per_product(cls, items: list[OrderLine]) -> list[OrderLine]:
        ids = [line.product_id for line in items]
        if len(ids) != len(set(ids)):
            raise ValueError("each product may appear on one line only; add up the quantities")
        return items


class StatusChange(Strict):
    status: Literal["shipped", "delivered"]


class OrderQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0
