"""One JSON error shape for every error a client can see:

    {"error": {"code": "not_found", "message": "product 7 does not exist", "details": null}}

Handlers raise `ApiError` (or an aiohttp HTTPException, or a database error); the kit's
middleware (kit.middleware) turns all of them into that shape with `response_for_error`. A client
never sees a stack trace or an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg2
import psycopg2.errorcodes
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("kit.errors")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    500: "internal_error",
    503: "service_unavailable",
}

RETRY_AFTER_SECONDS = "1"


class ApiError(Exception):
    """An error meant for the client: status, stable machine code, human message, details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers or {}


class DatabaseUnavailable(ApiError):
    def __init__(self, message: str = "the database is unavailable, retry shortly") -> None:
        super().__init__(503, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


def refused_value(exc: psycopg2.Error) -> ApiError:
    """A precise client error for a value PostgreSQL refused (class 22 data exception or 23
    integrity violation): out of range or a broken constraint is a 409 (the request conflicts
    with the stored state, e.g. stock that would overflow), any other data exception a 422."""
    code = exc.pgcode or ""
    if code == psycopg2.errorcodes.NUMERIC_VALUE_OUT_OF_RANGE:
        return ApiError(
            409, "the result would be outside the range this field can hold", code="out_of_range"
        )
    if code.startswith("23"):
        return ApiError(
            409, "the change conflicts with the stored data", code="constraint_violation"
        )
    return ApiError(422, "a value in the request cannot be stored", code="invalid_value")


def error_body(code: str, message: str, details: Any = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": details}})


def error_response(err: ApiError) -> web.Response:
    return web.Response(
        status=err.status,
        body=error_body(err.code, err.message, err.details),
        content_type="application/json",
        headers=err.headers,
    )


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    headers = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        message = f"method {exc.method} is not allowed here"
    elif exc.status == 404:
        message = "no such resource"
    else:
        message = exc.reason
    return ApiError(exc.status, message, headers=headers)


def response_for_error(exc: Exception) -> web.Response:
    """The JSON answer to a failure a handler raised (an HTTPException below 400 is an answer,
    not a failure: the caller lets it through); anything unknown becomes a logged 500."""
    if isinstance(exc, ApiError):
        return error_response(exc)
    if isinstance(exc, web.HTTPException):
        return error_response(_from_http_exception(exc))
    if isinstance(exc, HttpProcessingError):
        # A body aiohttp cannot parse (a broken multipart part, bad chunking) is the client's.
        if 400 <= (exc.code or 0) < 500:
            return error_response(ApiError(exc.code, "the request could not be read"))
    elif isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response(DatabaseUnavailable())
    elif isinstance(exc, psycopg2.DataError | psycopg2.IntegrityError):
        # The validation in kit.validation should stop every such value first; this is the net
        # under it, so a value the database refuses is the client's 409/422, never a 500.
        log.warning("database refused a value: %s (%s)", type(exc).__name__, exc.pgcode)
        return error_response(refused_value(exc))
    elif isinstance(exc, TimeoutError):
        log.warning("a dependency timed out")
        return error_response(
            ApiError(
                503,
                "a dependency did not answer in time, retry shortly",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        )
    log.error("unhandled error", exc_info=exc)
    return error_response(ApiError(500, "internal error; quote the request id to support"))
