"""Request ids: honour a sane incoming X-Request-ID or make one; echo it; log it; pass it on."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from kit.keys import REQUEST_ID
from kit.logging import request_id_var

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


@web.middleware
async def request_id_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    incoming = request.headers.get(HEADER, "")
    request_id = incoming if _ACCEPTED.match(incoming) else new_request_id()
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 304 and redirects travel as exceptions
            exc.headers[HEADER] = request_id
            raise
        response.headers[HEADER] = request_id
        return response
    finally:
        request_id_var.reset(token)
