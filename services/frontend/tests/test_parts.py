"""The frontend's parts on their own: settings, the session cookie, the catalog cache, metrics."""

import asyncio

import pytest

from frontend.session import Session, SessionCodec
from frontend.settings import load_settings
from frontend.tests.browsing import HTML, base_url, closed_url, frontend_env
from frontend.ttl_cache import TtlCache
from kit.settings import ConfigError

SECRET = "s" * 40


def test_settings_have_safe_defaults_and_name_the_bad_variable():
    settings = load_settings(frontend_env("http://product:5000/", "http://order:5001"))
    assert settings.product_api_url == "http://product:5000"
    assert settings.http.port == 3000
    assert "frontend-test" not in repr(settings)  # the session secret never shows

    cases = {
        "SESSION_SECRET": ("short", "SESSION_SECRET must be at least 32"),
        "PRODUCT_API_URL": ("product:5000", "PRODUCT_API_URL must be a http/https URL"),
        "HTTP_TIMEOUT_SECONDS": ("soon", "HTTP_TIMEOUT_SECONDS must be a finite number"),
        "SESSION_COOKIE_SECURE": ("yes", "SESSION_COOKIE_SECURE must be one of"),
    }
    for name, (value, message) in cases.items():
        env = frontend_env("http://p:1", "http://o:2", **{name: value})
        with pytest.raises(ConfigError, match=message):
            load_settings(env)
    env = frontend_env("http://p:1", "http://o:2")
    del env["ORDER_API_URL"]
    with pytest.raises(ConfigError, match="ORDER_API_URL is required"):
        load_settings(env)


def test_session_cookies_round_trip_and_refuse_forgery_and_age():
    codec = SessionCodec(SECRET, secure=False, max_age=3600)
    cookie = codec.dumps({"cart": {"1": 2}}, now=1_000_000)
    assert codec.loads(cookie, now=1_000_100) == {"cart": {"1": 2}}

    body, signature = cookie.split(".")
    assert codec.loads(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature) is None
    assert codec.loads(body + "." + signature[:-2]) is None
    assert codec.loads(body) is None and codec.loads("") is None and codec.loads("...") is None
    assert SessionCodec("t" * 40, secure=False).loads(cookie, now=1_000_100) is None
    assert codec.loads(cookie, now=1_000_000 + 3601) is None  # expired


class Loader:
    """A cache's loader that counts its calls: each call takes `delay` seconds (call number
    `held`, if given, waits until `release()`), then answers its number or raises `error`."""

    def __init__(self, delay: float = 0, *, held: int = 0, error: Exception | None = None):
        self.delay, self.held, self.error = delay, held, error
        self.calls = 0
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def __call__(self) -> int:
        self.calls += 1
        number = self.calls
        if number == self.held:
            await self._released.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return number


async def test_the_cache_shares_one_call_among_concurrent_readers():
    cache = TtlCache(ttl=10)
    load = Loader(delay=0.05)
    results = await asyncio.gather(*(cache.get("k", load) for _ in range(10)))
    assert load.calls == 1 and results == [1] * 10
    assert await cache.get("k", load) == 1
    await cache.close()


async def test_a_stale_answer_is_served_while_one_refresh_runs_then_it_expires():
    cache = TtlCache(ttl=0.2)
    load = Loader(held=2)  # the background refresh is slow
    assert await cache.get("k", load) == 1
    await asyncio.sleep(0.25)  # stale now
    answers = [await cache.get("k", load) for _ in range(5)]
    assert answers == [1] * 5  # answered at once, nobody waited for the slow refresh
    await asyncio.sleep(0.01)
    assert await cache.get("k", load) == 1  # still refreshing
    assert load.calls == 2  # one refresh, not six
    load.release()
    await asyncio.sleep(0.01)
    assert await cache.get("k", load) == 2  # the refreshed answer
    await asyncio.sleep(0.45)  # older than 2 x ttl: too old to serve
    assert await cache.get("k", load) == 3
    await cache.close()


async def test_the_cache_shares_failures_but_does_not_keep_them():
    cache = TtlCache(ttl=10)
    failing = Loader(delay=0.01, error=RuntimeError("down"))
    outcomes = await asyncio.gather(
        *(cache.get("k", failing) for _ in range(3)), return_exceptions=True
    )
    assert failing.calls == 1 and all(isinstance(o, RuntimeError) for o in outcomes)

    async def working():
        return "up"

    assert await cache.get("k", working) == "up"
    assert await cache.get("missing", _none) is None
    assert await cache.get("missing", working) == "up"  # a 404 (None) is not remembered


async def _none():
    return None


async def test_a_cached_catalog_saves_calls(make_shop, product_api, order_api, products):
    shop = await make_shop(base_url(product_api), base_url(order_api), CATALOG_CACHE_SECONDS="30")
    assert "Only 3 left" in await shop.page("/products/4")
    await products("UPDATE catalog.products SET stock = 1 WHERE id = 4")
    assert "Only 3 left" in await shop.page("/products/4")  # served from the cache


async def test_metrics_carry_the_service_and_route_patterns(make_shop, order_api):
    shop = await make_shop(closed_url(), base_url(order_api))
    await shop.client.get("/products/12345", headers=HTML)
    text = await (await shop.client.get("/metrics")).text()
    assert 'service="frontend"' in text
    assert 'route="/products/{id}"' in text and 'status="503"' in text
    assert "/products/12345" not in text
    assert "db_pool_" not in text  # the shop has no database, so no pool metrics


def test_the_session_keeps_only_well_formed_fields_and_round_trips():
    order = "0b7e3f5c-2f1a-4c1e-9a57-4d2f1c9e8a10"
    data = {
        "cart": {"7": 2, "x": 1, "8": 0, "9": 10_000, "\u0661": 1, "10": "3"},
        "csrf": "t" * 43,
        "orders": [order, "not-an-id", 5],
        "checkouts": {order: order, "key": order},
        "flash": [["ok", "Added."], ["bad"], "text"],
        "unknown": True,
    }
    session = Session.from_data(data)
    assert session.cart == {7: 2}
    assert session.csrf == "t" * 43
    assert session.orders == [order]
    assert session.checkouts == {order: order}
    assert session.flashes == [("ok", "Added.")]
    assert Session.from_data(session.to_data()) == session
    assert Session.from_data({"csrf": "short", "orders": "x"}) == Session()
