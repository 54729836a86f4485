"""The cart: product id -> quantity, kept in the session; lines priced from product-api."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from frontend.api import ProductApi
from frontend.session import Session
from frontend.shapes import Product
from kit import validation

MAX_QUANTITY = validation.MAX_QUANTITY  # order-api accepts 1..100 per line
MAX_LINES = 20  # keeps the cookie small and the cart page to a bounded number of API reads


class CartFull(Exception):
    pass


class Cart:
    """The cart's rules over the session's product id -> quantity; every change marks the
    session changed."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.items = session.cart

    def __len__(self) -> int:
        return len(self.items)

    @property
    def count(self) -> int:
        return sum(self.items.values())

    def quantity(self, product_id: int) -> int:
        return self.items.get(product_id, 0)

    def set(self, product_id: int, quantity: int) -> None:
        if quantity <= 0:
            self.items.pop(product_id, None)
        else:
            if product_id not in self.items and len(self.items) >= MAX_LINES:
                raise CartFull()
            self.items[product_id] = min(quantity, MAX_QUANTITY)
        self._save()

    def clear(self) -> None:
        self.items.clear()
        self._save()

    def _save(self) -> None:
        self._session.mark_changed()


@dataclass
class CartLine:
    product_id: int
    quantity: int
    product: Product | None  # None: no longer in the catalog

    @property
    def unit_price(self) -> Decimal | None:
        return Decimal(self.product["price"]) if self.product else None

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity if self.product else Decimal(0)

    @property
    def problem(self) -> str | None:
        if self.product is None:
            return "This product is no longer available. Please remove it."
        stock = self.product["stock"]
        if stock == 0:
            return "Out of stock. Please remove it."
        if stock < self.quantity:
            return f"Only {stock} left. Please lower the quantity."
        return None


@dataclass
class PricedCart:
    lines: list[CartLine]

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal(0))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


async def price_cart(products: ProductApi, cart: Cart) -> PricedCart:
    """Each line with the product as the catalog has it now (reads run concurrently)."""
    ids = list(cart.items)
    found = await asyncio.gather(*(products.get_product(pid) for pid in ids))
    return PricedCart(
        [CartLine(pid, cart.items[pid], product) for pid, product in zip(ids, found, strict=True)]
    )
