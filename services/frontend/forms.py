"""Reading what a shopper typed: catalog filters, quantities and the checkout form.

Every reader returns clean values plus messages a person can act on; nothing here raises on bad
input, so a typo in a price filter shows a hint instead of an error page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PAGE_SIZE = 24
MAX_PAGE = 400  # product-api pages at most 10 000 items deep
SORTS = {
    "name": "Name (A-Z)",
    "-name": "Name (Z-A)",
    "price": "Price (low to high)",
    "-price": "Price (high to low)",
    "newest": "Newest",
    "relevance": "Best match",
}
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_MONEY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
# Deliberately simple (the same rule as order-api): something before the one @, a domain of
# letters, digits and hyphens with a dot. The real check is the confirmation e-mail.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The countries this shop ships to (ISO 3166-1 alpha-2), as the checkout select offers them.
COUNTRIES = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "CA": "Canada",
    "CH": "Switzerland",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IT": "Italy",
    "JP": "Japan",
    "LU": "Luxembourg",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "SE": "Sweden",
    "US": "United States",
}


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def positive_id(raw: str) -> int | None:
    if not raw.isdigit() or len(raw) > 18 or int(raw) == 0:
        return None
    return int(raw)


def quantity(raw: Any, *, maximum: int) -> int | None:
    """A whole number 0..maximum, or None."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isdigit() or len(text) > 4:
        return None
    number = int(text)
    return number if number <= maximum else None


@dataclass
class CatalogQuery:
    """The catalog page's filters as the shopper gave them, and as product-api wants them."""

    category: str = ""
    q: str = ""
    min_price: str = ""
    max_price: str = ""
    in_stock: bool = False
    sort: str = ""
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, query: Any) -> CatalogQuery:
        result = cls()
        category = _text(query, "category")
        if category and _SLUG.match(category) and len(category) <= 64:
            result.category = category
        result.q = " ".join(_text(query, "q").split())[:200]
        for name in ("min_price", "max_price"):
            value = _text(query, name).removeprefix("$")
            if value and not _MONEY.match(value):
                result.errors[name] = "Enter a price like 25 or 19.99."
            else:
                setattr(result, name, value)
        if (
            result.min_price
            and result.max_price
            and Decimal(result.min_price) > Decimal(result.max_price)
        ):
            result.errors["max_price"] = "The highest price must not be below the lowest."
            result.max_price = ""
        result.in_stock = _text(query, "in_stock") in ("1", "true", "on")
        sort = _text(query, "sort")
        result.sort = sort if sort in SORTS else ""
        page = _text(query, "page")
        result.page = int(page) if page.isdigit() and 1 <= int(page) <= MAX_PAGE else 1
        return result

    def api_params(self) -> dict[str, str]:
        params = {"limit": str(PAGE_SIZE), "offset": str((self.page - 1) * PAGE_SIZE)}
        for name in ("category", "q", "min_price", "max_price", "sort"):
            value = getattr(self, name)
            if value:
                params[name] = value
        if self.in_stock:
            params["in_stock"] = "true"
        return params

    def link_params(self, **changes: Any) -> dict[str, str]:
        """The query string of this page with some filters changed (for links)."""
        values = {
            "category": self.category,
            "q": self.q,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "in_stock": "1" if self.in_stock else "",
            "sort": self.sort,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({key: str(value) if value else "" for key, value in changes.items()})
        return {key: value for key, value in values.items() if value}


@dataclass
class Checkout:
    name: str = ""
    email: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: Any) -> Checkout:
        result = cls(**{name: _text(form, name) for name in FIELDS})
        result.country = result.country.upper()
        errors = result.errors
        if not result.name:
            errors["name"] = "Enter your full name."
        elif len(result.name) > 200:
            errors["name"] = "The name is too long (200 characters at most)."
        if not result.email:
            errors["email"] = "Enter your e-mail address, so we can send the confirmation."
        elif len(result.email) > 254 or not _EMAIL.match(result.email):
            errors["email"] = "Enter an e-mail address like name@example.com."
        if not result.line1:
            errors["line1"] = "Enter the street and house number."
        elif len(result.line1) > 200:
            errors["line1"] = "The address line is too long (200 characters at most)."
        if len(result.line2) > 200:
            errors["line2"] = "The address line is too long (200 characters at most)."
        if not result.city:
            errors["city"] = "Enter the town or city."
        elif len(result.city) > 100:
            errors["city"] = "The city name is too long (100 characters at most)."
        if not result.postal_code:
            errors["postal_code"] = "Enter the postal code."
        elif not _POSTAL_CODE.match(result.postal_code):
            errors["postal_code"] = "Enter a postal code of letters and digits, like 10115."
        if result.country not in COUNTRIES:
            errors["country"] = "Choose a country we ship to."
        return result

    @property
    def valid(self) -> bool:
        return not self.errors

    def order_body(self, items: dict[int, int]) -> dict[str, Any]:
        address = {
            "line1": self.line1,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
        }
        if self.line2:
            address["line2"] = self.line2
        return {
            "customer": {"email": self.email, "name": self.name},
            "shipping_address": address,
            "items": [{"product_id": pid, "quantity": qty} for pid, qty in sorted(items.items())],
        }


FIELDS = ("name", "email", "line1", "line2", "city", "postal_code", "country")
# order-api's field paths (in its 422 details) -> our form fields
API_FIELDS = {
    "customer.name": "name",
    "customer.email": "email",
    "shipping_address.line1": "line1",
    "shipping_address.line2": "line2",
    "shipping_address.city": "city",
    "shipping_address.postal_code": "postal_code",
    "shipping_address.country": "country",
}
