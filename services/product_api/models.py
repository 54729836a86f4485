"""Request shapes of product-api. Unknown fields are rejected; money is an exact decimal."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Money arrives as a JSON string ("19.99") so no float ever touches it; a JSON number is refused.
MoneyText = Annotated[str, StringConstraints(pattern=r"^\d{1,10}(\.\d{1,2})?$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]
StockCount = Annotated[int, Field(ge=0, le=1_000_000)]

MAX_LIMIT = 100
MAX_OFFSET = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProductCreate(Strict):
    sku: Sku
    name: Name
    description: Description = ""
    category: Slug
    price: MoneyText
    stock: StockCount = 0


class ProductPatch(Strict):
    name: Name | None = None
    description: Description | None = None
    category: Slug | None = None
    price: MoneyText | None = None


class StockAdjustment(Strict):
    delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class ProductQuery(BaseModel):
    """GET /products parameters; query values arrive as text, so types are coerced (lax)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    category: Slug | None = None
    min_price: MoneyText | None = None
    max_price: MoneyText | None = None
    in_stock: bool | None = None
    q: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    sort: Literal["relevance", "name", "-name", "price", "-price", "newest"] | None = None
