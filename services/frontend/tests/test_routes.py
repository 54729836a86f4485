"""The shop's routes take their rules from the kit: an order page's path segment is exactly
what kit.validation.is_uuid accepts (one UUID rule, written once)."""

import uuid

import pytest

from frontend.app import create_app
from frontend.settings import load_settings
from frontend.tests.browsing import frontend_env
from kit.validation import is_uuid

KNOWN = str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))
SEGMENTS = [
    KNOWN,
    KNOWN.upper(),
    "{" + KNOWN + "}",
    KNOWN.replace("-", ""),
    KNOWN[:-1],
    KNOWN + "0",
    KNOWN[:-1] + "g",
    KNOWN[:-1] + "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to the rule
    "urn:uuid:" + KNOWN,
]


@pytest.mark.parametrize("name", ["order", "order_cancel"])
def test_order_routes_accept_exactly_the_kits_uuids(name):
    app = create_app(load_settings(frontend_env("http://p:1", "http://o:2")))
    pattern = app.router[name].get_info()["pattern"]
    suffix = "/cancel" if name == "order_cancel" else ""
    for segment in SEGMENTS:
        routed = pattern.fullmatch(f"/orders/{segment}{suffix}") is not None
        assert routed == is_uuid(segment), segment
    assert any(is_uuid(s) for s in SEGMENTS) and not all(is_uuid(s) for s in SEGMENTS)
