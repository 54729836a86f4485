"""JSON logs, one line per event, each carrying the request id of the request being served."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import datetime as dt
import logging
import sys
import time
from typing import Any, BinaryIO

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from kit.keys import REQUEST_ID

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_service = "unknown"  # set by configure_logging


def json_line(
    *, created: float, level: str, service: str, logger: str, msg: str, fields: dict[str, Any]
) -> str:
    """The one shape of every log line: ts, level, service, logger, msg, then the fields."""
    entry: dict[str, Any] = {
        "ts": dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "service": service,
        "logger": logger,
        "msg": msg,
        **fields,
    }
    return orjson.dumps(entry, default=str).decode()


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; `extra={...}` fields become top-level keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        request_id = request_id_var.get()
        if request_id:
            fields["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                fields[key] = value
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return json_line(
            created=record.created,
            level=record.levelname.lower(),
            service=self.service,
            logger=record.name,
            msg=record.getMessage(),
            fields=fields,
        )


class MalformedRequestFilter(logging.Filter):
    """aiohttp's parser answers a malformed request (bad header bytes, a header over 8 KiB) with
    400 itself and logs it with a traceback at error level. That is a client's mistake, not
    ours: log it as one warning line without a traceback, like any other 4xx."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "malformed HTTP request refused with %s", (exc.code,)
            record.exc_info = record.exc_text = None
            record.reason = type(exc).__name__  # not the message: it quotes the header bytes
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, aiohttp's) to stdout as JSON lines."""
    global _service
    _service = service
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(MalformedRequestFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class AccessLogWriter:
    """Access lines (bytes) are written in batches: collected in a list and written to the
    stream with one write and flush after FLUSH_SECONDS, or at once when MAX_BUFFER_BYTES are
    waiting. `flush()` writes whatever waits: the runner calls it at the end of a graceful
    shutdown (kit.serve), and an exit hook calls it if the process ends another way, so no line
    is lost unless the process is killed outright (SIGKILL: at most FLUSH_SECONDS of lines)."""

    FLUSH_SECONDS = 0.1
    MAX_BUFFER_BYTES = 256 * 1024

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        atexit.register(self.flush)

    def write(self, line: bytes) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self.MAX_BUFFER_BYTES:
            self.flush()
        elif self._timer is None or self._timer_loop is not asyncio.get_running_loop():
            # (a new loop: a process that runs several, one after the other, e.g. tests)
            self._timer_loop = asyncio.get_running_loop()
            self._timer = self._timer_loop.call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, self._lines, self._size = self._lines, [], 0
            self.stream.write(b"".join(lines))
            self.stream.flush()


class JsonAccessLogger(AbstractAccessLogger):
    """One `access` line per request, with path, status, duration and request id; the same
    shape as every other line (json_line), but made for the hot path: the constant part of the
    line is encoded once, the timestamp's text once per second, the variable fields with one
    orjson call; the line goes to `ACCESS_LOG` (the process's writer on stdout), which writes
    in batches. Measured in-process on one core over 100,000 lines to a pipe: 2.7-4.1 us a line,
    against 6.6-8.9 us for a json_line written and flushed per request."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._head = (
            b'","level":"info","service":'
            + orjson.dumps(_service)
            + b',"logger":'
            + orjson.dumps(logger.name)
            + b',"msg":"access",'
        )
        self._second = -1
        self._second_text = b""

    def _timestamp(self, now: float) -> bytes:
        """`now` as json_line writes it (ISO 8601, milliseconds, UTC): 2026-11-30T02:53:34.123"""
        second = int(now)
        if second != self._second:
            moment = dt.datetime.fromtimestamp(second, dt.UTC)
            self._second, self._second_text = second, moment.strftime("%Y-%m-%dT%H:%M:%S").encode()
        return b"%s.%03d+00:00" % (self._second_text, int((now - second) * 1000))

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path in _UNLOGGED_PATHS or not self.enabled:
            return
        fields = orjson.dumps(
            {
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 2),
                "request_id": request.get(REQUEST_ID),
                "remote": request.remote,
            }
        )
        ACCESS_LOG.write(b'{"ts":"' + self._timestamp(_now()) + self._head + fields[1:] + b"\n")

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


_UNLOGGED_PATHS = frozenset({"/health", "/ready", "/metrics"})
_now = time.time
ACCESS_LOG = AccessLogWriter(sys.stdout.buffer)
