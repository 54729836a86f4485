"""The one set of rules for text and numbers that come from outside: request bodies, query
strings, path parameters and the shop's forms all use these, so each rule exists once.

Text policy
    Unicode control characters (category Cc: C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F)
    and lone surrogates are refused in every text field. PostgreSQL refuses NUL in text and jsonb,
    the others are invisible and break logs, e-mails and labels. Fields that may hold several
    lines (a product description) accept tab, line feed and carriage return, nothing else.
    Single-line text must also hold more than spaces. Text is stored as sent: nothing is
    trimmed, so what the OpenAPI document allows is exactly what is accepted.

Number policy
    Ids, quantities, pages, limits and prices are ASCII digits only. `str.isdigit()`, `int()`
    and a regex `\\d` accept superscript, Arabic-Indic or fullwidth digits: nothing here uses
    them on input.

Domain limits (the database types hold every value they allow: db/migrations/catalog/0004)
    MAX_PRICE 9 999 999.99 x MAX_QUANTITY 100 x MAX_LINES 50 = MAX_ORDER_TOTAL 49 999 999 950.00,
    well inside orders.total numeric(14,2). MAX_STOCK is what an admin may set; cancellations
    may return stock above it, which the bigint column holds.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

MAX_ID = 2**63 - 1  # bigint
MAX_STOCK = 1_000_000
MAX_PRICE = Decimal("9999999.99")
MAX_QUANTITY = 100  # per order line
MAX_LINES = 50  # lines per order
MAX_ORDER_TOTAL = MAX_PRICE * MAX_QUANTITY * MAX_LINES
MAX_PAGE_LIMIT = 100
MAX_OFFSET = 10_000

# The same rules as ECMAScript regexes for the OpenAPI documents (tests compare them).
CONTROL_CHARS = "\\u0000-\\u001f\\u007f-\\u009f"
LINE_PATTERN = f"^[^{CONTROL_CHARS}]*$"
SINGLE_LINE_PATTERN = f"^[^{CONTROL_CHARS}]*[^ {CONTROL_CHARS}][^{CONTROL_CHARS}]*$"
MULTI_LINE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
MONEY_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# An address as people type it (HTML's e-mail rule, ASCII only); the real check is the
# confirmation e-mail. At most 254 characters.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
MAX_EMAIL_LENGTH = 254

_FORBIDDEN_ANYWHERE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\t\n\r]")
_ASCII_UNSIGNED = re.compile(r"[0-9]{1,19}")
_ASCII_SIGNED = re.compile(r"-?[0-9]{1,19}")
_MONEY = re.compile(MONEY_PATTERN.strip("^$"))
_SLUG = re.compile(SLUG_PATTERN.strip("^$"))
_EMAIL = re.compile(EMAIL_PATTERN.strip("^$"))
_UUID = re.compile(UUID_PATTERN.strip("^$"))


# ---- plain checks (forms, headers, path parameters) -----------------------------------------


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` breaks the text policy, or None when it is acceptable."""
    if _FORBIDDEN_ANYWHERE.search(value):
        return "must not contain control characters"
    if not multiline and _LINE_BREAKS.search(value):
        return "must be a single line (no tabs or line breaks)"
    return None


def ascii_int(raw: Any, *, minimum: int, maximum: int) -> int | None:
    """`raw` as an int when it is ASCII digits (and a '-' if minimum < 0) within the range."""
    if not isinstance(raw, str):
        return None
    pattern = _ASCII_SIGNED if minimum < 0 else _ASCII_UNSIGNED
    if not pattern.fullmatch(raw):
        return None
    number = int(raw)
    return number if minimum <= number <= maximum else None


def positive_id(raw: Any) -> int | None:
    """A row id (1..2^63-1) written in ASCII digits, or None."""
    return ascii_int(raw, minimum=1, maximum=MAX_ID)


def money(raw: Any) -> Decimal | None:
    """A price written as ASCII '19.99' (0..MAX_PRICE, two decimals at most), or None."""
    if not isinstance(raw, str) or not _MONEY.fullmatch(raw):
        return None
    return Decimal(raw)


def is_slug(raw: Any) -> bool:
    return isinstance(raw, str) and len(raw) <= 64 and bool(_SLUG.fullmatch(raw))


def is_uuid(raw: Any) -> bool:
    """The hyphenated ASCII form only (uuid.UUID() also takes braces, URNs and other digits)."""
    return isinstance(raw, str) and bool(_UUID.fullmatch(raw))


def is_email(raw: Any) -> bool:
    return isinstance(raw, str) and len(raw) <= MAX_EMAIL_LENGTH and bool(_EMAIL.fullmatch(raw))


# ---- pydantic types (both APIs' request models) ---------------------------------------------


def _single_line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    if not value.strip(" "):
        raise ValueError("must not be blank")
    return value


def _line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def SingleLine(*, max_length: int) -> Any:
    """A non-blank line of text (JSON string), 1..max_length characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_single_line)]


def OptionalLine(*, max_length: int) -> Any:
    """One line of text that may be empty or blank, 0..max_length characters."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_line)]


def MultiLine(*, max_length: int) -> Any:
    """Text that may hold line breaks and tabs, 0..max_length characters."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_multi_line)]


def _money(value: str) -> str:
    if money(value) is None:
        raise ValueError(f"must be a price like '19.99' from 0 to {MAX_PRICE}")
    return value


def _slug(value: str) -> str:
    if not is_slug(value):
        raise ValueError("must be lowercase letters and digits joined by single hyphens")
    return value


def _email(value: str) -> str:
    if not is_email(value):
        raise ValueError("must be an e-mail address like name@example.com")
    return value.lower()


MoneyText = Annotated[str, AfterValidator(_money)]
Slug = Annotated[str, AfterValidator(_slug)]
Email = Annotated[str, AfterValidator(_email)]


# ---- query-string types: values arrive as text, so they are parsed here, strictly -----------


def QueryInt(*, minimum: int, maximum: int) -> Any:
    """An integer query parameter in ASCII digits ('1.0', '+1', '1_0', non-ASCII digits: 422)."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            pattern = _ASCII_SIGNED if minimum < 0 else _ASCII_UNSIGNED
            if not pattern.fullmatch(value):
                raise ValueError(f"must be a whole number from {minimum} to {maximum}")
            return int(value)
        return value

    return Annotated[int, BeforeValidator(parse), Field(ge=minimum, le=maximum, strict=True)]


def _query_bool(value: Any) -> Any:
    if value == "true":
        return True
    if value == "false":
        return False
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
