"""Bounded background load for the live-cluster tests: a thread with its own event loop sends
requests to the cluster's own addresses (Service IPs inside the cluster's network namespace)
until it is stopped, a request budget is spent or a time limit passes, whichever comes first.
It counts every outcome, so a test can require zero failures and report the counts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    # 503 with Retry-After: the service shed the request on purpose (its database pool was busy
    # past the acquire timeout), as documented; counted apart from failures.
    shed: int = 0
    shed_reasons: Counter = field(default_factory=Counter)  # by the error body's message
    failures: Counter = field(default_factory=Counter)
    acknowledged_orders: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.ok} ok, {self.shed} shed (503 + Retry-After)"
            f" {dict(self.shed_reasons)}, {self.failed} failed {dict(self.failures)}"
        )


def shed_reason(body: bytes) -> str:
    """The message of a 503's JSON error body (the kit's shape), or what the body was."""
    try:
        return json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return f"not the error shape: {body[:80]!r}"


class Load:
    """`with Load(...) as load:` runs the load for the block; `load.tally` has the counts."""

    def __init__(
        self,
        urls: list[str],
        *,
        concurrency: int = 2,
        max_requests: int = 20_000,
        max_seconds: float = 300,
        pause: float = 0.0,
        order_url: str | None = None,
        order_body: dict | None = None,
        order_headers: dict[str, str] | None = None,
    ) -> None:
        self.urls = urls
        self.concurrency = concurrency
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.pause = pause
        self.order_url = order_url
        self.order_body = order_body
        self.order_headers = order_headers or {}
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Tally:
        self._stop.set()
        self._thread.join(timeout=60)
        return self.tally

    def _budget_left(self, deadline: float) -> bool:
        return (
            not self._stop.is_set()
            and self.tally.sent < self.max_requests
            and time.monotonic() < deadline
        )

    async def _main(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        timeout = aiohttp.ClientTimeout(total=10)
        # A new connection per request: a rolled-out pod's keep-alive connection is not reused.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            workers = [self._worker(session, deadline, n) for n in range(self.concurrency)]
            if self.order_url:
                workers.append(self._orders(session, deadline))
            await asyncio.gather(*workers)

    async def _worker(self, session: aiohttp.ClientSession, deadline: float, n: int) -> None:
        i = n
        while self._budget_left(deadline):
            url = self.urls[i % len(self.urls)]
            i += 1
            self.tally.sent += 1
            try:
                async with session.get(url) as response:
                    body = await response.read()
                    if response.status == 200:
                        self.tally.ok += 1
                    elif response.status == 503 and "Retry-After" in response.headers:
                        self.tally.shed += 1
                        self.tally.shed_reasons[shed_reason(body)] += 1
                    else:
                        self.tally.failures[f"HTTP {response.status}"] += 1
            except (TimeoutError, aiohttp.ClientError) as error:
                self.tally.failures[type(error).__name__] += 1
            if self.pause:
                await asyncio.sleep(self.pause)

    async def _orders(self, session: aiohttp.ClientSession, deadline: float) -> None:
        """One order at a time; each is retried with its idempotency key until acknowledged
        (201) or the run ends. Acknowledged order ids are recorded."""
        while self._budget_left(deadline):
            key = f"e2e-{uuid.uuid4().hex}"
            while self._budget_left(deadline):
                self.tally.sent += 1
                try:
                    async with session.post(
                        self.order_url,
                        json=self.order_body,
                        headers={**self.order_headers, "Idempotency-Key": key},
                    ) as response:
                        body = await response.json(content_type=None)
                        if response.status in (200, 201):
                            self.tally.ok += 1
                            self.tally.acknowledged_orders.append(body["id"])
                            break
                        self.tally.failures[f"order HTTP {response.status}"] += 1
                except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                    self.tally.failures[f"order {type(error).__name__}"] += 1
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.2)
