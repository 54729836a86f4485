"""JSON over HTTP to one API (product-api or order-api), over the app's one ClientSession.

Failure policy, in one place:
- Every call has the session's timeouts (HTTP_TIMEOUT_SECONDS total, 1 s to connect).
- Reads (GET) are retried, at most twice, with jittered exponential backoff, but only when a retry
  can help and cannot hurt: the connection failed or the API answered 502/503/504. A read that
  timed out is not retried (the API is slow; asking again only adds load), and writes are never
  retried blindly (see api.OrderApi.create_order for the one safe exception).
- Anything that means "the API cannot answer now" raises `Unavailable(service)`; a proper error
  answer raises `UpstreamError` with the API's code, message and details.
- A client built with a token sends it as `Authorization: Bearer` on every call but the /ready
  probe: order-api answers only callers with the shop's credential (ORDER_API_TOKEN).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from kit.http_client import downstream_headers
from kit.keys import HTTP_CLIENT
from kit.settings import Secret

READ_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 0.05
RETRY_STATUSES = frozenset({502, 503, 504})
PROBE_TIMEOUT_SECONDS = 1.0


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
                async with self._session().get(
                    url, headers=downstream_headers(self._auth)
                ) as response:
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
                headers=downstream_headers(
                    {"Content-Type": "application/json", **self._auth, **(headers or {})}
                ),
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
                self._session().get(self.url("/ready"), headers=downstream_headers({})) as response,
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


def session_getter(app: Mapping) -> Callable[[], aiohttp.ClientSession]:
    """The app's ClientSession, looked up per call: it exists only once the app has started."""
    return lambda: app[HTTP_CLIENT]
