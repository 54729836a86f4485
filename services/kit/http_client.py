"""One aiohttp ClientSession per application, with explicit timeouts and request-id propagation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

from kit.keys import HTTP_CLIENT
from kit.logging import request_id_var
from kit.request_id import HEADER


async def _send_request_id(
    _session: aiohttp.ClientSession,
    _ctx: SimpleNamespace,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    request_id = request_id_var.get()
    if request_id and HEADER not in params.headers:
        params.headers[HEADER] = request_id


def client_session_context(
    total_timeout: float, connect_timeout: float = 1.0
) -> Callable[[web.Application], Any]:
    """A cleanup_ctx that opens the app's ClientSession and closes it on shutdown."""

    async def _client(app: web.Application) -> AsyncIterator[None]:
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(_send_request_id)
        timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout, trace_configs=[trace]) as session:
            app[HTTP_CLIENT] = session
            yield

    return _client
