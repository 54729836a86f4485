"""Request shapes of product-api. Unknown fields are rejected; money is an exact decimal.

The text and number rules (control characters, ASCII digits, limits) are kit.validation's; the
OpenAPI document states the same rules (tests/api/test_openapi_fuzz.py holds them together).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from kit.jsonio import StrictBody, StrictQuery
from kit.validation import (
    MAX_OFFSET,
    MAX_PAGE_LIMIT,
    MAX_STOCK,
    MoneyText,
    MultiLine,
    QueryBool,
    QueryInt,
    SingleLine,
    Slug,
)

# Money arrives as a JSON string ("19.99") so no float ever touches it; a JSON number is refused.
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
Name = SingleLine(max_length=200)
Description = MultiLine(max_length=5000)
StockCount = Annotated[int, Field(ge=0, le=MAX_STOCK)]

MAX_LIMIT = MAX_PAGE_LIMIT


class ProductCreate(StrictBody):
    sku: Sku
    name: Name
    description: Description = ""
    category: Slug
    price: MoneyText
    stock: StockCount = 0


class ProductPatch(StrictBody):
    """Every field optional; a field that is sent must hold a value (null is refused)."""

    name: Name = None
    description: Description = None
    category: Slug = None
    price: MoneyText = None


class StockAdjustment(StrictBody):
    delta: Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK)]
    reason: MultiLine(max_length=200) = ""


class ProductQuery(StrictQuery):
    """GET /products parameters: query values arrive as text and are parsed strictly."""

    limit: QueryInt(minimum=1, maximum=MAX_LIMIT) = 20
    offset: QueryInt(minimum=0, maximum=MAX_OFFSET) = 0
    category: Slug | None = None
    min_price: MoneyText | None = None
    max_price: MoneyText | None = None
    in_stock: QueryBool | None = None
    q: SingleLine(max_length=200) | None = None
    sort: Literal["relevance", "name", "-name", "price", "-price", "newest"] | None = None
