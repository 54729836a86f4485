"""JSON over HTTP to one API (product-api or order-api), over the API's pool of kept-alive
connections (http11.py).

Failure policy, in one place:
- Every call has HTTP_TIMEOUT_SECONDS in total (connect, send, read; 1 s of it at most to connect).
- Reads (GET) are retried, at most twice, with jittered exponential backoff, but only when a retry
  can help and cannot hurt: the connection failed or the API answered 502/503/504. A read that
  timed out is not retried (the API is slow; asking again only adds load), and writes are never
  retried blindly (see api.OrderApi.create_order for the one safe exception).
- Anything that means "the API cannot answer now" raises `Unavailable(service)`; a proper error
  answer raises `UpstreamError` with the API's code, message and details.
- Every call carries the request's X-Request-ID (kit.logging.request_id_var), so one id finds
  the request in all three services' logs.
- A client built with a token sends it as `Authorization: Bearer` on every call but the /ready
  probe: order-api answers only callers with the shop's credential (ORDER_API_TOKEN).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
from yarl import URL

from frontend.http11 import Answer, ConnectError, ConnectionPool, ProtocolError
from kit.logging import request_id_var
from kit.request_id import HEADER as REQUEST_ID_HEADER
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
    """JSON over HTTP to one API."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        token: Secret | None = None,
    ):
        self.service = service
        self.base_url = URL(base_url)
        self.timeout = timeout
        self.pool = ConnectionPool(base_url, connect_timeout=connect_timeout)
        self._base_path = self.base_url.path.rstrip("/")
        self._auth = f"Authorization: Bearer {token.reveal()}\r\n" if token else ""

    def _head(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        *,
        auth: bool = True,
        query: Mapping[str, str] | None = None,
    ) -> str:
        """Request line and headers. `path` is the shop's own (ASCII, no query); header values
        with a line break or outside Latin-1 are refused (ValueError), never sent."""
        target = self._base_path + path
        if query:
            target += "?" + urlencode(query)
        if not target.isascii() or not target.isprintable() or " " in target:
            raise ValueError(f"not a request target: {target!r}")
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.pool.host_header}\r\n"
        request_id = request_id_var.get()
        if request_id:
            head += f"{REQUEST_ID_HEADER}: {request_id}\r\n"
        if auth:
            head += self._auth
        for name, value in (headers or {}).items():
            if "\r" in value or "\n" in value:
                raise ValueError(f"a line break in header {name}")
            head += f"{name}: {value}\r\n"
        return head

    async def _call(self, head: str, body: bytes, *, idempotent: bool, seconds: float) -> Answer:
        async with asyncio.timeout(seconds):
            return await self.pool.request(
                (head + "\r\n").encode("latin-1"), body, idempotent=idempotent
            )

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any | None:
        """The JSON body of a 200, None for a 404; retried as the module docstring says."""
        head = self._head("GET", path, query=params)
        for attempt in range(READ_ATTEMPTS):
            last = attempt == READ_ATTEMPTS - 1
            try:
                answer = await self._call(head, b"", idempotent=True, seconds=self.timeout)
            except TimeoutError as exc:
                raise Unavailable(self.service, "timeout") from exc
            except ConnectError as exc:
                if last:
                    raise Unavailable(self.service, type(exc).__name__) from exc
                await asyncio.sleep(_backoff(attempt))
                continue
            except ProtocolError as exc:
                raise Unavailable(self.service, type(exc).__name__) from exc
            status = answer.status
            if status == 200:
                return self._json(answer.body)
            if status == 404:
                return None
            if status in RETRY_STATUSES and not last:
                await asyncio.sleep(_backoff(attempt))
                continue
            if status >= 500:
                raise Unavailable(self.service, f"HTTP {status}")
            raise _error_from(self.service, status, answer.body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """One write, never retried here: (status, JSON body) for any answer below 500."""
        data = b"" if body is None else orjson.dumps(body)
        head = self._head(
            method,
            path,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
                **(headers or {}),
            },
        )
        try:
            answer = await self._call(head, data, idempotent=False, seconds=self.timeout)
        except TimeoutError as exc:
            raise Unavailable(self.service, "timeout") from exc
        except (ConnectError, ProtocolError) as exc:
            raise Unavailable(self.service, type(exc).__name__) from exc
        status = answer.status
        if status >= 500:
            raise Unavailable(self.service, f"HTTP {status}")
        if 200 <= status < 300:
            return status, self._json(answer.body)
        raise _error_from(self.service, status, answer.body)

    async def probe(self) -> dict[str, Any]:
        """The API's own /ready, within a short timeout: for /ready/dependencies only."""
        started = time.perf_counter()
        head = self._head("GET", "/ready", auth=False)
        try:
            answer = await self._call(head, b"", idempotent=True, seconds=PROBE_TIMEOUT_SECONDS)
            status = "ok" if answer.status == 200 else f"not ready (HTTP {answer.status})"
        except TimeoutError:
            status = "timeout"
        except (ConnectError, ProtocolError) as exc:
            status = f"unreachable ({type(exc).__name__})"
        return {
            "status": status,
            "url": str(self.base_url),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def close(self) -> None:
        """Close the API's connections (on application cleanup)."""
        self.pool.close()

    def _json(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Unavailable(self.service, "invalid JSON") from exc
