"""The shop's HTTP/1.1 client (http11.py) against real servers: framings it must read, answers
it must refuse, and connections a server closed while they were idle."""

import asyncio
import ssl
import subprocess

import pytest
from aiohttp import web

from frontend.http11 import ConnectError, ConnectionPool, ProtocolError
from frontend.service_client import ServiceClient, Unavailable
from frontend.tests.browsing import base_url, closed_url


def get(path: str, host: str = "test") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


class RawServer:
    """A TCP server whose answers a test writes byte for byte. `answer(request_number,
    connection_number)` gives the bytes to send for each request (None: close without a byte);
    with `close_after` the connection is closed after each answer."""

    def __init__(self, answer, *, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.requests: list[tuple[int, bytes]] = []  # (connection number, request head)
        self.connections = 0
        self._tasks: set[asyncio.Task] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        self._writers.append(writer)
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests.append((number, head))
                data = self.answer(len(self.requests), number)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def fixed(data: bytes):
    return lambda _request, _connection: data


async def request(url: str, data: bytes = b"", *, idempotent: bool = True, pool=None):
    own = pool is None
    pool = pool or ConnectionPool(url, connect_timeout=1)
    try:
        async with asyncio.timeout(2):
            return await pool.request(data or get("/x"), idempotent=idempotent)
    finally:
        if own:
            pool.close()


async def test_content_length_chunked_and_until_close_answers_are_read():
    async with RawServer(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")) as url:
        assert (await request(url)).body == b"hello"
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nwiki\r\n6;ext=1\r\npedia \r\n0\r\nTrailer: x\r\n\r\n"
    )
    async with RawServer(fixed(chunked)) as url:
        answer = await request(url)
        assert (answer.status, answer.body) == (201, b"wikipedia ")
    async with RawServer(fixed(b"HTTP/1.0 200 OK\r\n\r\nto the end"), close_after=True) as url:
        assert (await request(url)).body == b"to the end"
    async with RawServer(fixed(b"HTTP/1.1 204 No Content\r\n\r\n")) as url:
        assert (await request(url)).body == b""


async def test_an_aiohttp_server_keeps_one_connection_for_many_requests(aiohttp_server):
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"items": ', b"[1, 2, 3]", b"}"):
            await response.write(part)
        await response.write_eof()
        return response

    async def small(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/small", small)
    server = await aiohttp_server(app)
    pool = ConnectionPool(base_url(server), connect_timeout=1)
    for _ in range(3):
        assert (await request("", get("/stream"), pool=pool)).body == b'{"items": [1, 2, 3]}'
        assert (await request("", get("/small"), pool=pool)).body == b'{"ok": true}'
    assert len(pool._open) == 1
    pool.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
    ],
)
async def test_answers_that_are_not_http_11_as_expected_are_refused(answer):
    async with RawServer(fixed(answer)) as url:
        with pytest.raises(ProtocolError):
            await request(url)


async def test_a_connection_closed_while_idle_is_replaced_for_reads_but_not_for_writes():
    # Each connection answers its first request, then closes at the next one without a byte:
    # what a server does when its keep-alive timeout ends just as the client sends.
    def answer(_request: int, connection: int) -> bytes | None:
        seen = [c for c, _head in server.requests if c == connection]
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" if len(seen) == 1 else None

    server = RawServer(answer)
    async with server as url:
        pool = ConnectionPool(url, connect_timeout=1)
        assert (await request(url, pool=pool)).body == b"ok"
        assert (await request(url, pool=pool)).body == b"ok"  # sent again on a new connection
        assert server.connections == 2
        post = b"POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
        with pytest.raises(ConnectError):
            await request(url, post, idempotent=False, pool=pool)
        assert server.connections == 2  # a write is never sent twice by the client
        pool.close()


async def test_a_truncated_answer_is_a_connection_error_and_the_connection_is_dropped():
    async with RawServer(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")) as url:
        pool = ConnectionPool(url, connect_timeout=1)
        task = asyncio.ensure_future(request(url, pool=pool))
        await asyncio.sleep(0.2)
        assert not task.done()  # waits for the rest
        pool.close()
        with pytest.raises(ConnectError):
            await task


async def test_nothing_listening_is_a_connect_error():
    with pytest.raises(ConnectError):
        await request(closed_url())


async def test_the_service_client_refuses_to_send_a_header_with_a_line_break():
    async with RawServer(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")) as url:
        client = ServiceClient("order-api", url, timeout=1, connect_timeout=1)
        with pytest.raises(ValueError):
            await client.send("POST", "/orders", {}, {"Idempotency-Key": "k\r\nX-Admin: 1"})
        with pytest.raises(ValueError):
            await client.get("/products/1 HTTP/1.1\r\nX: y")
        assert await client.get("/products/1", {"q": "a b&c=d"}) == {}
        client.close()


async def test_a_read_closed_without_an_answer_is_retried_then_given_up():
    server = RawServer(lambda _n, _c: None)
    async with server as url:
        client = ServiceClient("product-api", url, timeout=0.3, connect_timeout=1)
        with pytest.raises(Unavailable, match="ConnectError"):
            await client.get("/products/1")  # closed without an answer: retried, then given up
        assert len(server.requests) == 3
        client.close()


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl, as hack/e2e uses it)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_is_verified_against_the_trusted_certificates(
    aiohttp_server, tls_files, monkeypatch
):
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def hello(_request: web.Request) -> web.Response:
        return web.json_response({"tls": True})

    app = web.Application()
    app.router.add_get("/hello", hello)
    server = await aiohttp_server(app, ssl=context)
    url = f"https://127.0.0.1:{server.port}"

    with pytest.raises(ConnectError):  # a certificate nobody trusts: refused
        await request(url, get("/hello"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now trusted, as a CA bundle would make it
    assert (await request(url, get("/hello"))).body == b'{"tls": true}'
