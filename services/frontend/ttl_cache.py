"""TtlCache: catalog answers reused for CATALOG_CACHE_SECONDS, one call per key at a time, and
refreshed in the background once stale."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kit.tasks import cancel_and_wait

log = logging.getLogger("frontend.cache")

CACHE_MAX_ENTRIES = 2048


class TtlCache:
    """Answers kept for `ttl` seconds, with single flight and stale-while-revalidate.

    - fresh (younger than ttl): answered from memory;
    - stale (younger than 2 x ttl): answered from memory at once, and one background call
      refreshes it, so a popular page never waits for product-api when its entry expires;
    - missing or older: loaded now; concurrent requests for the same key share that one call.
    So a page shows catalog data at most about 2 x ttl old; checkout never relies on it
    (order-api checks stock itself).
    """

    def __init__(self, ttl: float, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._pending: dict[Any, asyncio.Future] = {}
        self._refreshes: set[asyncio.Task] = set()

    async def get(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        if self.ttl <= 0:
            return await load()
        entry = self._entries.get(key)
        if entry is not None:
            age = time.monotonic() - entry[0]
            if age < self.ttl:
                return entry[1]
            if age < 2 * self.ttl:
                if key not in self._pending:
                    self._refresh_in_background(key, load)
                return entry[1]
        pending = self._pending.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
                return await load()  # the leading request was cancelled, not this one
        return await self._fill(key, load, self._begin(key))

    def _begin(self, key: Any) -> asyncio.Future:
        """Claim `key`: from now on other callers wait for this future instead of calling."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    async def _fill(self, key: Any, load: Callable[[], Awaitable[Any]], future: asyncio.Future):
        started = time.monotonic()
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked as retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(value)
            self._store(key, value, started)
            return value
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]

    def _refresh_in_background(self, key: Any, load: Callable[[], Awaitable[Any]]) -> None:
        task = asyncio.create_task(self._fill(key, load, self._begin(key)))
        self._refreshes.add(task)
        task.add_done_callback(self._refresh_done)

    def _refresh_done(self, task: asyncio.Task) -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The stale entry stays until it is too old; the next request tries again.
            log.warning("background refresh failed: %s", task.exception())

    def _store(self, key: Any, value: Any, loaded_at: float) -> None:
        if value is None:
            self._entries.pop(key, None)  # a 404 may become a product any moment: not kept
            return
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[key] = (loaded_at, value)

    async def close(self) -> None:
        """Stop background refreshes (on application cleanup)."""
        await cancel_and_wait(*self._refreshes)
        self._entries.clear()
