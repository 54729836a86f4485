"""The kit's one middleware: request id, metrics and the JSON error shape in one frame.

Per request, in this order (it was three middlewares; one saves two coroutine frames and the
per-request handler wrapping aiohttp does for each middleware):
1. the request id: a sane incoming X-Request-ID, else a new one; set for log lines
   (kit.logging.request_id_var) and echoed on every answer, errors and 304s included;
2. metrics: in flight, then the count and latency by route pattern and *final* status
   (`/metrics`, `/health` and `/ready` are not counted);
3. errors: every failure becomes the JSON error shape (kit.errors.response_for_error).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from kit.errors import response_for_error
from kit.keys import METRICS, REQUEST_ID
from kit.logging import request_id_var
from kit.metrics import UNCOUNTED_PATHS, route_label
from kit.request_id import HEADER, accepted_request_id, new_request_id

_perf_counter = time.perf_counter


@web.middleware
async def kit_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    incoming = request.headers.get(HEADER)
    request_id = incoming if incoming and accepted_request_id(incoming) else new_request_id()
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    metrics = None if request.path in UNCOUNTED_PATHS else request.app[METRICS]
    if metrics is not None:
        metrics.in_flight_now += 1
        started = _perf_counter()
    status = 500  # anything that escapes below is a server error
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400:
                response = response_for_error(exc)
            else:  # 304 and redirects travel as exceptions: answers, not errors
                status = exc.status
                exc.headers[HEADER] = request_id
                raise
        except Exception as exc:  # CancelledError is not an Exception: it passes through
            response = response_for_error(exc)
        status = response.status
        response.headers[HEADER] = request_id
        return response
    finally:
        if metrics is not None:
            metrics.in_flight_now -= 1
            metrics.observe_request(
                request.method, route_label(request), status, _perf_counter() - started
            )
        request_id_var.reset(token)
