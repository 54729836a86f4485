"""Clients of product-api and order-api over the app's one ClientSession.

Failure policy, in one place:
- Every call has the session's timeouts (HTTP_TIMEOUT_SECONDS total, 1 s to connect).
- Reads (GET) are retried, at most twice, with jittered exponential backoff, but only when a retry
  can help and cannot hurt: the connection failed or the API answered 502/503/504. A read that
  timed out is not retried (the API is slow; asking again only adds load), and writes are never
  retried blindly.
- The one exception for writes: order-api answers 409 `idempotency_in_flight` while the first
  request with the same Idempotency-Key is still running (a double click). Asking again with the
  same key is safe by construction, so `create_order` waits briefly and asks again to learn the
  outcome of the first request.
- Anything that means "the API cannot answer now" raises `Unavailable(service)`; a proper error
  answer raises `UpstreamError` with the API's code, message and details.
- A client built with a token sends it as `Authorization: Bearer` on every call but the /ready
  probe: order-api answers only callers with the shop's credential (ORDER_API_TOKEN).

Catalog reads go through a small cache (TtlCache): concurrent requests for the same URL share one
call, answers are reused for CATALOG_CACHE_SECONDS and refreshed in the background after that.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from kit.keys import HTTP_CLIENT
from kit.settings import Secret

log = logging.getLogger("frontend.api")

PRODUCT_API = "product-api"
ORDER_API = "order-api"

READ_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 0.05
RETRY_STATUSES = frozenset({502, 503, 504})
IN_FLIGHT_WAIT_SECONDS = (0.1, 0.2, 0.4, 0.8)
PROBE_TIMEOUT_SECONDS = 1.0
CACHE_MAX_ENTRIES = 2048


class Unavailable(Exception):
    """The API could not be reached, timed out, or answered with a server error."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service = service
        self.reason = reason


class UpstreamError(Exception):
    """The API answered with an error in the platform's error shape."""

    def __init__(self, service: str, status: int, code: str, message: str, details: Any) -> None:
        super().__init__(f"{service} answered {status} {code}: {message}")
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to base * 2**attempt, so retries of many pods spread out."""
    return random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempt)


def _error_from(service: str, status: int, body: bytes) -> UpstreamError:
    try:
        error = orjson.loads(body)["error"]
        return UpstreamError(
            service,
            status,
            str(error.get("code") or "error"),
            str(error.get("message") or ""),
            error.get("details"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return UpstreamError(service, status, "error", f"HTTP {status}", None)


class ServiceClient:
    """JSON over HTTP to one API; the ClientSession comes from the app (kit.http_client)."""

    def __init__(
        self,
        service: str,
        base_url: str,
        session: Callable[[], aiohttp.ClientSession],
        token: Secret | None = None,
    ):
        self.service = service
        self.base_url = URL(base_url)
        self._session = session
        self._auth = {"Authorization": f"Bearer {token.reveal()}"} if token else {}

    def url(self, path: str) -> URL:
        return self.base_url.with_path(self.base_url.path.rstrip("/") + path, encoded=False)

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any | None:
        """The JSON body of a 200, None for a 404; retried as the module docstring says."""
        url = self.url(path)
        if params:
            url = url.with_query(params)
        for attempt in range(READ_ATTEMPTS):
            last = attempt == READ_ATTEMPTS - 1
            try:
                async with self._session().get(url, headers=self._auth) as response:
                    body = await response.read()
                    status = response.status
            except TimeoutError as exc:  # first: aiohttp's timeout errors are connection errors too
                raise Unavailable(self.service, "timeout") from exc
            except aiohttp.ClientConnectionError as exc:
                if last:
                    raise Unavailable(self.service, type(exc).__name__) from exc
                await asyncio.sleep(_backoff(attempt))
                continue
            except aiohttp.ClientError as exc:
                raise Unavailable(self.service, type(exc).__name__) from exc
            if status == 200:
                return self._json(body)
            if status == 404:
                return None
            if status in RETRY_STATUSES and not last:
                await asyncio.sleep(_backoff(attempt))
                continue
            if status >= 500:
                raise Unavailable(self.service, f"HTTP {status}")
            raise _error_from(self.service, status, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """One write, never retried here: (status, JSON body) for any answer below 500."""
        try:
            async with self._session().request(
                method,
                self.url(path),
                data=None if body is None else orjson.dumps(body),
                headers={"Content-Type": "application/json", **self._auth, **(headers or {})},
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError as exc:
            raise Unavailable(self.service, "timeout") from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(self.service, type(exc).__name__) from exc
        if status >= 500:
            raise Unavailable(self.service, f"HTTP {status}")
        if 200 <= status < 300:
            return status, self._json(raw)
        raise _error_from(self.service, status, raw)

    async def probe(self) -> dict[str, Any]:
        """The API's own /ready, within a short timeout: for /ready/dependencies only."""
        started = time.perf_counter()
        try:
            async with (
                asyncio.timeout(PROBE_TIMEOUT_SECONDS),
                self._session().get(self.url("/ready")) as response,
            ):
                await response.read()
                status = "ok" if response.status == 200 else f"not ready (HTTP {response.status})"
        except TimeoutError:
            status = "timeout"
        except aiohttp.ClientError as exc:
            status = f"unreachable ({type(exc).__name__})"
        return {
            "status": status,
            "url": str(self.base_url),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def _json(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Unavailable(self.service, "invalid JSON") from exc


class TtlCache:
    """Answers kept for `ttl` seconds, with single flight and stale-while-revalidate.

    - fresh (younger than ttl): answered from memory;
    - stale (younger than 2 x ttl): answered from memory at once, and one background call
      refreshes it, so a popular page never waits for product-api when its entry expires;
    - missing or older: loaded now; concurrent requests for the same key share that one call.
    So a page shows catalog data at most about 2 x ttl old; checkout never relies on it
    (order-api checks stock itself).
    """

    def __init__(self, ttl: float, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._pending: dict[Any, asyncio.Future] = {}
        self._refreshes: set[asyncio.Task] = set()

    async def get(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        if self.ttl <= 0:
            return await load()
        entry = self._entries.get(key)
        if entry is not None:
            age = time.monotonic() - entry[0]
            if age < self.ttl:
                return entry[1]
            if age < 2 * self.ttl:
                if key not in self._pending:
                    self._refresh_in_background(key, load)
                return entry[1]
        pending = self._pending.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
                return await load()  # the leading request was cancelled, not this one
        return await self._fill(key, load, self._begin(key))

    def _begin(self, key: Any) -> asyncio.Future:
        """Claim `key`: from now on other callers wait for this future instead of calling."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    async def _fill(self, key: Any, load: Callable[[], Awaitable[Any]], future: asyncio.Future):
        started = time.monotonic()
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked as retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(value)
            self._store(key, value, started)
            return value
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]

    def _refresh_in_background(self, key: Any, load: Callable[[], Awaitable[Any]]) -> None:
        task = asyncio.create_task(self._fill(key, load, self._begin(key)))
        self._refreshes.add(task)
        task.add_done_callback(self._refresh_done)

    def _refresh_done(self, task: asyncio.Task) -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The stale entry stays until it is too old; the next request tries again.
            log.warning("background refresh failed: %s", task.exception())

    def _store(self, key: Any, value: Any, loaded_at: float) -> None:
        if value is None:
            self._entries.pop(key, None)  # a 404 may become a product any moment: not kept
            return
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[key] = (loaded_at, value)

    async def close(self) -> None:
        """Stop background refreshes (on application cleanup)."""
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        self._entries.clear()


class ProductApi:
    def __init__(self, client: ServiceClient, cache: TtlCache) -> None:
        self.client = client
        self.cache = cache

    async def list_products(self, params: Mapping[str, str]) -> dict[str, Any]:
        key = ("products", tuple(sorted(params.items())))
        page = await self.cache.get(key, lambda: self.client.get("/products", params))
        if page is None:  # the list endpoint has no 404; treat one as a broken upstream
            raise Unavailable(PRODUCT_API, "HTTP 404 on /products")
        return page

    async def get_product(self, product_id: int) -> dict[str, Any] | None:
        return await self.cache.get(
            ("product", product_id), lambda: self.client.get(f"/products/{product_id}")
        )

    async def categories(self) -> list[dict[str, Any]]:
        answer = await self.cache.get(("categories",), lambda: self.client.get("/categories"))
        return answer["items"] if answer else []


class OrderApi:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def create_order(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """The created (or replayed) order; UpstreamError for a refusal, Unavailable otherwise."""
        headers = {"Idempotency-Key": idempotency_key}
        for wait in (*IN_FLIGHT_WAIT_SECONDS, None):
            try:
                _status, order = await self.client.send("POST", "/orders", body, headers)
                return order
            except UpstreamError as err:
                if err.code != "idempotency_in_flight" or wait is None:
                    raise
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        return await self.client.get(f"/orders/{order_id}")

    async def cancel_order(self, order_id: str) -> dict[str, Any]:
        _status, order = await self.client.send("POST", f"/orders/{order_id}/cancel")
        return order


def session_getter(app: Mapping) -> Callable[[], aiohttp.ClientSession]:
    """The app's ClientSession, looked up per call: it exists only once the app has started."""
    return lambda: app[HTTP_CLIENT]
