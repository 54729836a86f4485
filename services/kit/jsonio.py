"""JSON in and out: strict request parsing into pydantic models, orjson responses, ETags."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, TypeVar

import orjson
import pydantic
from aiohttp import web

from kit.errors import ApiError
from kit.validation import positive_id

Model = TypeVar("Model", bound=pydantic.BaseModel)


class StrictBody(pydantic.BaseModel):
    """The base of every JSON request body: unknown fields (a client-sent price, say) are
    refused, JSON types are taken exactly ("5" is no integer, 19.99 no money string), and the
    parsed body cannot change."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, frozen=True)


class StrictQuery(pydantic.BaseModel):
    """The base of every query-string model: unknown parameters are refused and the result cannot
    change. Values arrive as text, so they are parsed by kit.validation's Query* types rather
    than taken strictly."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_default)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None):
    return web.Response(
        body=dumps(payload), status=status, content_type="application/json", headers=headers
    )


def cached_json_response(request: web.Request, payload: Any) -> web.Response:
    """200 with a strong ETag over the body, or 304 when If-None-Match already has it."""
    body = dumps(payload)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    if etag in _if_none_match(request):
        raise web.HTTPNotModified(headers={"ETag": etag})
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-cache"},
    )


def _if_none_match(request: web.Request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    if header.strip() == "*":
        return {"*"}
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _details(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or None, "problem": error["msg"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


async def read_json(request: web.Request, model: type[Model]) -> Model:
    """The body as `model`: 415 if not JSON, 400 if unparseable, 422 if it breaks the model."""
    if request.content_type != "application/json":
        raise ApiError(415, "send the body as application/json")
    raw = await request.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON", code="malformed_json") from None
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ApiError(422, "the request body is invalid", details=_details(exc)) from None


def parse_query(request: web.Request, model: type[Model]) -> Model:
    """Query parameters as `model`; a repeated or invalid parameter is a 422."""
    query = request.rel_url.query
    repeated = sorted({key for key in query if len(query.getall(key)) > 1})
    if repeated:
        raise ApiError(
            422,
            "query parameters may appear once",
            details=[{"field": key, "problem": "repeated"} for key in repeated],
        )
    try:
        return model.model_validate(dict(query))
    except pydantic.ValidationError as exc:
        raise ApiError(422, "invalid query parameters", details=_details(exc)) from None


def path_id(request: web.Request, name: str = "id") -> int:
    """A positive bigint path parameter in ASCII digits; anything else is a 404 (no such
    resource): `/products/²` (superscript two) names no product."""
    raw = request.match_info[name]
    number = positive_id(raw)
    if number is None:
        raise ApiError(404, f"no resource with {name} {raw[:40]!r}")
    return number
