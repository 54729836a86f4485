"""One aiohttp ClientSession per application, with explicit timeouts, and the headers that carry
the request id to the services it calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from kit.keys import HTTP_CLIENT
from kit.logging import request_id_var
from kit.request_id import HEADER


def downstream_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` plus X-Request-ID with the id of the request being served (when there is one
    and `headers` do not name one already): pass them on every call to another service.

    The headers are given per call rather than added by a session trace hook: aiohttp's tracing
    sends a signal at every step of every request, which cost 15-40 us of CPU per call
    (hack/bench/README.md)."""
    request_id = request_id_var.get()
    if not request_id or HEADER in headers:
        return headers
    return {**headers, HEADER: request_id}


def client_session_context(
    total_timeout: float, connect_timeout: float = 1.0
) -> Callable[[web.Application], Any]:
    """A cleanup_ctx that opens the app's ClientSession and closes it on shutdown."""

    async def _client(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            app[HTTP_CLIENT] = session
            yield

    return _client
