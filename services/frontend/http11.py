"""HTTP/1.1 to one API over a pool of kept-alive connections: the transport under ServiceClient.

The shop's calls to its APIs are small JSON requests to a fixed base URL. aiohttp's client
spent about 160-190 us of CPU per call on them (URL handling, cookie jar, trace signals,
request and response objects: hack/bench/README.md); this client does the same round trip in
about a half of that. It does only what those calls need, and refuses what it does not know:

- one request at a time per connection (no pipelining); idle connections are kept (LIFO, at
  most `max_idle`) and at most `limit` are open at once, as aiohttp's connector did;
- answers framed by Content-Length, chunked transfer coding, or (without either) the end of the
  connection; at most MAX_HEAD_BYTES of status line and headers and MAX_BODY_BYTES of body;
  anything else is a `ProtocolError` and the connection is closed;
- a connection that fails or times out in the middle of a request is closed, never reused;
- a GET on a *reused* connection that the server closed before answering a byte (it closed the
  idle connection as we sent) is sent once more on a new connection, as browsers do;
- no redirects, cookies, proxies or compression (it sends no Accept-Encoding).

Timeouts are the caller's (`asyncio.timeout` around `request`), except the connect timeout.
Errors: `ConnectError` (could not connect, or the connection was lost before the answer was
complete: nothing usable arrived) and `ProtocolError` (the answer was not HTTP/1.1 as above);
TimeoutError from the caller's timeout.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from yarl import URL

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


class ConnectError(Exception):
    """No connection, or it was lost before a complete answer arrived."""


class ProtocolError(Exception):
    """The answer was not HTTP/1.1 as this client reads it."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; `data_received` parses the answer of the current request."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False  # has answered a request before (so the server may have closed it)
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._status = 0
        self._length: int | None = None  # body bytes expected; None: chunked or until close
        self._chunked = False
        self._until_close = False
        self._keep_alive = True
        self._head_done = False
        self._received = False  # any byte of the current answer

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._received = True
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: this connection is out of step
            return
        try:
            answer = self._parse()
        except ProtocolError as exc:
            self._fail(exc)
            return
        if answer is not None:
            waiter, self._waiter = self._waiter, None
            self.used = True
            if not self._keep_alive or self._buffer:
                self.close()
            waiter.set_result(answer)

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._until_close and self._head_done:
            answer = Answer(self._status, bytes(self._buffer))
            self._waiter.set_result(answer)
        else:
            self._waiter.set_exception(
                ConnectError("connection lost before the answer was complete")
            )
        self._waiter = None

    # -- requests

    def send(self, data: bytes) -> asyncio.Future[Answer]:
        if self.transport is None or self._waiter is not None:
            raise RuntimeError("one request at a time per connection")
        self._buffer.clear()
        self._head_done = self._chunked = self._until_close = self._received = False
        self._keep_alive = True
        self._length = None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    @property
    def received_anything(self) -> bool:
        return self._received

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # -- parsing

    def _parse(self) -> Answer | None:
        if not self._head_done and not self._parse_head():
            return None
        if self._chunked:
            return self._parse_chunked()
        if self._until_close:
            if len(self._buffer) > MAX_BODY_BYTES:
                raise ProtocolError("answer too large")
            return None
        if len(self._buffer) < self._length:
            return None
        body = bytes(self._buffer[: self._length])
        del self._buffer[: self._length]
        return Answer(self._status, body)

    def _parse_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("answer head too large")
            return False
        if end > MAX_HEAD_BYTES:
            raise ProtocolError("answer head too large")
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        del self._buffer[: end + 4]
        status_line = lines[0]
        if (
            len(status_line) < 12
            or status_line[:9] not in (b"HTTP/1.1 ", b"HTTP/1.0 ")
            or not status_line[9:12].isdigit()
            or (len(status_line) > 12 and status_line[12:13] != b" ")
        ):
            raise ProtocolError("not an HTTP/1.x status line")
        self._status = int(status_line[9:12])
        if self._status < 200:
            raise ProtocolError("informational answers are not expected")
        self._keep_alive = status_line[:9] == b"HTTP/1.1 "
        length = None
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ProtocolError("malformed header line")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise ProtocolError("bad Content-Length")
                length = int(value)
            elif name == b"transfer-encoding":
                if value.lower() != b"chunked":
                    raise ProtocolError("unsupported Transfer-Encoding")
                self._chunked = True
            elif name == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    self._keep_alive = False
                elif b"keep-alive" in tokens:
                    self._keep_alive = True
        self._head_done = True
        if self._chunked:
            if length is not None:
                raise ProtocolError("both Content-Length and chunked")
        elif self._status in NO_BODY_STATUSES:
            self._length = 0
        elif length is not None:
            if length > MAX_BODY_BYTES:
                raise ProtocolError("answer too large")
            self._length = length
        else:
            self._until_close = True
            self._keep_alive = False
        return True

    def _parse_chunked(self) -> Answer | None:
        """The whole body once every chunk and the last (empty) one have arrived."""
        body = bytearray()
        at = 0
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                if len(buffer) - at > 1024:
                    raise ProtocolError("bad chunk size line")
                return None
            size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError("bad chunk size") from None
            if size < 0 or len(body) + size > MAX_BODY_BYTES:
                raise ProtocolError("answer too large")
            at = line_end + 2
            if size == 0:
                trailer_end = buffer.find(b"\r\n", at)
                while trailer_end > at:  # trailer fields: skipped
                    at = trailer_end + 2
                    trailer_end = buffer.find(b"\r\n", at)
                if trailer_end < 0:
                    return None
                del buffer[: trailer_end + 2]
                return Answer(self._status, bytes(body))
            if len(buffer) < at + size + 2:
                return None
            body += buffer[at : at + size]
            if buffer[at + size : at + size + 2] != b"\r\n":
                raise ProtocolError("bad chunk end")
            at += size + 2


class ConnectionPool:
    """Kept-alive connections to the origin of `base_url`; `request` sends one request."""

    def __init__(
        self, base_url: str, *, connect_timeout: float, limit: int = 100, max_idle: int = 32
    ) -> None:
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = url.host
        self._port = url.port
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        host = f"[{url.host}]" if ":" in url.host else url.host
        self.host_header = host if url.is_default_port() else f"{host}:{url.port}"
        self._connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._slots = asyncio.Semaphore(limit)
        self._open: set[_Connection] = set()

    async def request(self, head: bytes, body: bytes = b"", *, idempotent: bool) -> Answer:
        """Send `head` (request line and headers, ending in a blank line) and `body`."""
        async with self._slots:
            connection = self._take_idle()
            if connection is not None:
                try:
                    return await self._exchange(connection, head + body)
                except ConnectError:
                    if not idempotent or connection.received_anything:
                        raise
                    # The server closed the idle connection as we sent: ask on a new one.
            return await self._exchange(await self._connect(), head + body)

    async def _exchange(self, connection: _Connection, data: bytes) -> Answer:
        try:
            answer = await connection.send(data)
        except BaseException:
            self._discard(connection)
            raise
        if connection.closed:
            self._discard(connection)
        elif len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            self._discard(connection)
        return answer

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            self._open.discard(connection)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _transport, connection = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError:
            raise ConnectError("connect timeout") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect: {type(exc).__name__}") from exc
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def close(self) -> None:
        """Close every connection (on application cleanup)."""
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
