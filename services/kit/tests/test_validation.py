"""kit.validation, the one text/number policy: every control character and every non-ASCII
digit is refused, and both OpenAPI documents state exactly the same rules and limits (the
patterns are compared, and run against the same generated corpus as the server's checks)."""

import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from kit import validation as v

SERVICES = Path(__file__).resolve().parents[2]
PRODUCT = yaml.safe_load((SERVICES / "product_api" / "openapi.yaml").read_text())
ORDER = yaml.safe_load((SERVICES / "order_api" / "openapi.yaml").read_text())
CONTROL = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
NON_ASCII_DIGITS = [
    chr(c) for c in range(0x80, 0x110000) if unicodedata.category(chr(c)) in ("Nd", "No")
]


def schema(doc: dict, name: str) -> dict:
    return doc["components"]["schemas"][name]


def test_every_control_character_is_refused_and_only_multiline_text_keeps_line_breaks():
    for char in CONTROL:
        multiline_ok = char in "\t\n\r"
        assert v.text_problem(f"a{char}b") is not None
        assert (v.text_problem(f"a{char}b", multiline=True) is None) == multiline_ok
    assert v.text_problem("a\ud800b", multiline=True) is not None  # a lone surrogate
    assert v.text_problem("Zoë's café, 東京 ½") is None


def test_no_non_ascii_digit_is_a_number():
    assert len(NON_ASCII_DIGITS) > 600  # every script's digits, superscripts, circled ...
    for digit in NON_ASCII_DIGITS:
        assert v.positive_id(digit) is None
        assert v.positive_id("1" + digit) is None
        assert v.ascii_int(digit, minimum=0, maximum=10) is None
        assert v.money(digit) is None and v.money("1." + digit) is None
    assert v.positive_id(str(v.MAX_ID)) == v.MAX_ID
    assert v.positive_id(str(v.MAX_ID + 1)) is None
    assert v.positive_id("0") is None and v.positive_id("9" * 5000) is None
    assert v.money("9999999.99") == v.MAX_PRICE and v.money("10000000") is None


def test_the_order_total_limit_fits_the_database_column():
    assert v.MAX_ORDER_TOTAL == Decimal("49999999950.00")
    assert v.MAX_ORDER_TOTAL < Decimal("1e12")  # orders.total numeric(14,2)


@pytest.mark.parametrize(
    ("pattern", "kit_pattern"),
    [
        (schema(PRODUCT, "Line200")["pattern"], v.SINGLE_LINE_PATTERN),
        (schema(PRODUCT, "Description")["pattern"], v.MULTI_LINE_PATTERN),
        (schema(PRODUCT, "Money")["pattern"], v.MONEY_PATTERN),
        (schema(PRODUCT, "Slug")["pattern"], v.SLUG_PATTERN),
        (schema(ORDER, "Line200")["pattern"], v.SINGLE_LINE_PATTERN),
        (schema(ORDER, "Address")["properties"]["line2"]["pattern"], v.LINE_PATTERN),
        (schema(ORDER, "Email")["pattern"], v.EMAIL_PATTERN),
    ],
)
def test_the_documents_state_the_kit_rules(pattern, kit_pattern):
    assert pattern == kit_pattern


CORPUS = [f"a{c}b" for c in CONTROL] + [" ", "  x ", "x", "", "a\u00a0b", "ä", "x" * 3]


@pytest.mark.parametrize(
    ("pattern", "check"),
    [
        (v.SINGLE_LINE_PATTERN, lambda s: v.text_problem(s) is None and s.strip(" ") != ""),
        (v.LINE_PATTERN, lambda s: v.text_problem(s) is None),
        (v.MULTI_LINE_PATTERN, lambda s: v.text_problem(s, multiline=True) is None),
    ],
)
def test_the_document_patterns_accept_exactly_what_the_server_accepts(pattern, check):
    regex = re.compile(pattern.removeprefix("^").removesuffix("$"))
    for text in CORPUS:
        assert bool(regex.fullmatch(text)) == check(text), repr(text)


def test_the_documents_state_the_numeric_limits():
    create = schema(PRODUCT, "ProductCreate")["properties"]
    assert create["stock"]["maximum"] == v.MAX_STOCK
    delta = schema(PRODUCT, "StockAdjustment")["properties"]["delta"]
    assert (delta["minimum"], delta["maximum"]) == (-v.MAX_STOCK, v.MAX_STOCK)
    items = schema(ORDER, "OrderCreate")["properties"]["items"]
    assert items["maxItems"] == v.MAX_LINES
    assert items["items"]["properties"]["quantity"]["maximum"] == v.MAX_QUANTITY
    assert items["items"]["properties"]["product_id"]["maximum"] == v.MAX_ID
