"""Reading what a shopper typed: catalog filters, quantities and the checkout form.

Every reader returns clean values plus messages a person can act on; nothing here raises on bad
input, so a typo in a price filter shows a hint instead of an error page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from kit import validation
from kit.validation import is_slug, money, text_problem

PAGE_SIZE = 24
MAX_PAGE = 400  # product-api pages at most 10 000 items deep
MAX_PRICE_INPUT = 20  # characters of a typed price shown back
SORTS = {
    "relevance": "Best match",  # offered only for a search
    "name": "Name (A-Z)",
    "-name": "Name (Z-A)",
    "price": "Price (low to high)",
    "-price": "Price (high to low)",
    "newest": "Newest",
}
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,11}")

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


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def quantity(raw: Any, *, maximum: int) -> int | None:
    """A whole number 0..maximum in ASCII digits, or None."""
    text = raw.strip() if isinstance(raw, str) else ""
    return validation.ascii_int(text, minimum=0, maximum=maximum)


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
        if is_slug(category):
            result.category = category
        q = " ".join(_text(query, "q").split())[:200]
        if text_problem(q):
            result.errors["q"] = "Search for words, without control characters."
        else:
            result.q = q
        # A price filter is shown back as typed, with a message when it cannot be used; only
        # usable filters reach the API and the page's links.
        for name in ("min_price", "max_price"):
            value = _text(query, name).removeprefix("$")[:MAX_PRICE_INPUT]
            setattr(result, name, value)
            if value and money(value) is None:
                result.errors[name] = "Enter a price like 25 or 19.99."
        if (
            not {"min_price", "max_price"} & result.errors.keys()
            and result.min_price
            and result.max_price
            and money(result.min_price) > money(result.max_price)
        ):
            result.errors["max_price"] = "The highest price must not be below the lowest."
        result.in_stock = _text(query, "in_stock") in ("1", "true", "on")
        sort = _text(query, "sort")
        result.sort = sort if sort in SORTS else ""
        result.page = validation.ascii_int(_text(query, "page"), minimum=1, maximum=MAX_PAGE) or 1
        return result

    @property
    def applied_sort(self) -> str:
        """The order the results are really in (product-api's rule: best match for a search,
        else by name), so the sort menu always shows the one applied."""
        if self.sort == "relevance" and not self.q:
            return "name"
        return self.sort or ("relevance" if self.q else "name")

    def usable(self, name: str) -> str:
        """A filter's value if it can be applied, else ""."""
        return "" if name in self.errors else getattr(self, name)

    def api_params(self) -> dict[str, str]:
        params = {"limit": str(PAGE_SIZE), "offset": str((self.page - 1) * PAGE_SIZE)}
        for name in ("category", "q", "min_price", "max_price", "sort"):
            value = self.usable(name)
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
            "min_price": self.usable("min_price"),
            "max_price": self.usable("max_price"),
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
        for name in FIELDS:  # the kit's text policy first: no control characters, one line
            if text_problem(getattr(result, name)):
                errors[name] = "Use letters, digits and punctuation only, on one line."
                setattr(result, name, "")

        def check(name: str, broken: bool, message: str) -> None:
            if broken and name not in errors:
                errors[name] = message

        check("name", not result.name, "Enter your full name.")
        check("name", len(result.name) > 200, "The name is too long (200 characters at most).")
        check(
            "email",
            not result.email,
            "Enter your e-mail address, so we can send the confirmation.",
        )
        check(
            "email",
            not validation.is_email(result.email),
            "Enter an e-mail address like name@example.com.",
        )
        check("line1", not result.line1, "Enter the street and house number.")
        too_long = "The address line is too long (200 characters at most)."
        check("line1", len(result.line1) > 200, too_long)
        check("line2", len(result.line2) > 200, too_long)
        check("city", not result.city, "Enter the town or city.")
        check("city", len(result.city) > 100, "The city name is too long (100 characters at most).")
        check("postal_code", not result.postal_code, "Enter the postal code.")
        check(
            "postal_code",
            not _POSTAL_CODE.fullmatch(result.postal_code),
            "Enter a postal code of letters and digits, like 10115.",
        )
        check("country", result.country not in COUNTRIES, "Choose a country we ship to.")
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
