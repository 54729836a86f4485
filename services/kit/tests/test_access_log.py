"""Access lines are written in batches, yet every request gets its line: a real process answers N
requests, gets SIGTERM while the last batch still waits, and its output holds exactly N access
lines, each in the one log shape with the request id the client saw."""

import asyncio
import io
import json
import re

import aiohttp

from kit.logging import AccessLogWriter
from support.fixtures import service_env
from support.procs import start_service

REQUESTS = 300
ACCESS_KEYS = [
    "ts", "level", "service", "logger", "msg",
    "method", "path", "status", "duration_ms", "request_id", "remote",
]  # fmt: skip
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


async def test_sigterm_after_n_requests_leaves_n_access_lines(empty_db):
    service = start_service(
        "product_api", service_env("product_api", LOG_LEVEL="INFO", EVENT_LOOP="uvloop")
    )
    # read the output while it is written: a full pipe would stall the service's event loop
    output = asyncio.ensure_future(asyncio.to_thread(service.process.stdout.read))
    try:
        answered: dict[str, tuple[str, int]] = {}
        connector = aiohttp.TCPConnector(limit=16)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(n: int) -> None:
                path = f"/products/{n}" if n % 3 else f"/products?q=item{n}"
                headers = {"X-Request-ID": f"client-{n}"} if n % 2 else {}
                async with session.get(service.url + path, headers=headers) as response:
                    await response.read()
                    route_path = path.split("?")[0]  # access lines log the path alone
                    answered[response.headers["X-Request-ID"]] = (route_path, response.status)

            await asyncio.gather(*(one(n) for n in range(REQUESTS)))
        service.terminate()  # at once: the last batch of lines has not been written yet
        assert service.process.wait(timeout=15) == 0
        lines = [json.loads(line) for line in (await output).splitlines() if line.strip()]
    finally:
        service.stop()

    access = [line for line in lines if line["msg"] == "access"]
    assert len(access) == REQUESTS == len(answered)
    for line in access:
        assert list(line) == ACCESS_KEYS
        assert TIMESTAMP.fullmatch(line["ts"])
        assert (line["level"], line["service"], line["logger"]) == (
            "info", "product-api", "aiohttp.access"
        )  # fmt: skip
        assert answered[line["request_id"]] == (line["path"], line["status"])
        assert line["method"] == "GET" and line["remote"] == "127.0.0.1"
        assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert {line["request_id"] for line in access} == set(answered)
    assert sum(rid.startswith("client-") for rid in answered) == REQUESTS // 2
    # the service ran on the loop EVENT_LOOP named, through the kit's runner
    assert next(line for line in lines if line["msg"] == "serving")["event_loop"] == "uvloop"
    # the batch is written before the process reports that shutdown is done
    done = next(i for i, line in enumerate(lines) if line["msg"] == "shutdown: done")
    assert lines.index(access[-1]) < done


def test_a_batch_is_written_within_its_interval_on_every_loop_a_process_runs():
    stream = io.BytesIO()
    writer = AccessLogWriter(stream)

    async def write_and_wait(line: bytes) -> None:
        writer.write(line)
        assert line not in stream.getvalue()  # waiting in the batch
        await asyncio.sleep(AccessLogWriter.FLUSH_SECONDS * 2)

    asyncio.run(write_and_wait(b"first\n"))
    asyncio.run(write_and_wait(b"second\n"))  # a new loop: the old loop's timer is gone
    assert stream.getvalue() == b"first\nsecond\n"
