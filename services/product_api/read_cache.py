"""An in-process cache of product reads, kept correct by LISTEN/NOTIFY: product rows by id (GET
/products/{id}) and whole list answers by their query (GET /products: filters, searches, pages).

Migration catalog/0005 makes PostgreSQL announce every committed change to a product answer on
the channel `catalog_products` (payload: the product id, or `*` for "anything may have changed").
Each process holds one dedicated listening connection (`listener_context`, a cleanup_ctx); every
replica listens for itself.

The rules that keep it correct:
- It caches only while its listener is connected and LISTENing. The listener connects and runs
  LISTEN first, then switches the cache on; when the connection is lost (or a heartbeat fails)
  the cache is emptied and switched off, and reads go straight to the database until the
  listener is back, LISTENing again, and switches it on afresh.
- A notification removes the product's row (or everything, for `*`) as soon as it arrives, and
  with it every list answer: any change to any product may move it into, within or out of any
  list (a rename into a search, a price into a filter, a stock change into `in_stock`), so lists
  are never patched, only dropped. Under a stream of orders lists are rarely held; between
  changes every repeat of a search or page is answered here.
- Every invalidation and every switch advances `epoch`. A read from the database takes the
  epoch before it asks (`token()`) and `put()` stores the row only if the epoch is unchanged, so
  a row read before a change whose notification arrived while the read was in flight is never
  stored. (This is global, not per id: under writes some fills are not stored and the next read
  fills again; it is never wrong.)
- Bounded by `max_entries` entries (rows and lists alike) and `max_bytes` of them (their dicts,
  keys and values as sys.getsizeof counts them), least recently used evicted first.

Rows and lists handed out are shared with the cache: callers serialise them and never change them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiopg
import psycopg2

from kit.metrics import HttpMetrics
from kit.tasks import cancel_and_wait

log = logging.getLogger("product_api.read_cache")

CHANNEL = "catalog_products"
EVERYTHING = "*"
CONNECT_TIMEOUT_SECONDS = 3
# A silent network can hide a dead connection: the listener sends SELECT 1 after this long without
# a notification, and a heartbeat that fails or takes longer than this drops the cache.
HEARTBEAT_SECONDS = 5.0
RETRY_SECONDS = 1.0


# A list answer's key: its query's fields, in order (catalog.list_key); a row's key is its id.
ListKey = tuple[Any, ...]
# A list answer: its page of rows and the number of all matches.
ListAnswer = tuple[list[dict[str, Any]], int]


def row_size(row: dict[str, Any]) -> int:
    """The bytes a cached row holds: its dict, keys and values."""
    return sys.getsizeof(row) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in row.items())


def list_size(key: ListKey, answer: ListAnswer) -> int:
    """The bytes a cached list answer holds: its key, its rows and its total."""
    rows, total = answer
    return (
        sys.getsizeof(key) + sum(sys.getsizeof(part) for part in key)
        + sys.getsizeof(answer) + sys.getsizeof(rows) + sum(row_size(row) for row in rows)
        + sys.getsizeof(total)
    )  # fmt: skip


class ProductCache:
    """Product rows by id and list answers by query, LRU-bounded in entries and bytes together;
    see the module docstring."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.enabled = False  # True only while the listener is connected and LISTENing
        self.epoch = 0
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        self.notifications = 0  # processed, including those that found nothing to drop
        self.retry_seconds = RETRY_SECONDS
        # Entry by key: (row, size) for a product id, (answer, size) for a ListKey.
        self._rows: OrderedDict[int | ListKey, tuple[Any, int]] = OrderedDict()
        self._lists: set[ListKey] = set()  # the keys of the list answers held
        self._changed = asyncio.Event()  # set whenever notifications or the state move on

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: int | ListKey) -> Any:
        """The row of a product id or the answer of a ListKey; None when not held."""
        entry = self._rows.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._rows.move_to_end(key)
        self.hits += 1
        return entry[0]

    def token(self) -> int:
        """Take before reading from the database; hand to put() with what was read."""
        return self.epoch

    def put(self, product_id: int, row: dict[str, Any], token: int) -> None:
        if self.enabled and token == self.epoch:
            self._put(product_id, row, row_size(row))

    def put_list(self, key: ListKey, answer: ListAnswer, token: int) -> None:
        """Like put(), for a list answer read from the database after token()."""
        if self.enabled and token == self.epoch:
            self._put(key, answer, list_size(key, answer))
            if key in self._rows:
                self._lists.add(key)

    def _put(self, key: int | ListKey, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        self._pop(key)
        self._rows[key] = (value, size)
        self.bytes += size
        while len(self._rows) > self.max_entries or self.bytes > self.max_bytes:
            evicted, (_, evicted_size) = self._rows.popitem(last=False)
            self.bytes -= evicted_size
            self._lists.discard(evicted)

    def notified(self, payload: str) -> None:
        """One notification from the channel: drop what it names (anything unexpected: all)."""
        if payload.isascii() and payload.isdigit():
            self.invalidate(int(payload))
        else:
            self.epoch += 1
            self.invalidations += 1
            self._clear()
        self.notifications += 1
        self._wake()

    def invalidate(self, product_id: int) -> None:
        """Drop one product and every list. This process's own writes call it once they commit,
        so a read after a write here never waits for the notification."""
        self.epoch += 1
        self.invalidations += 1
        self._pop(product_id)
        for key in self._lists:
            self._pop(key)
        self._lists.clear()

    def _pop(self, key: int | ListKey) -> None:
        entry = self._rows.pop(key, None)
        if entry is not None:
            self.bytes -= entry[1]

    def switch_on(self) -> None:
        """The listener is LISTENing: cache from now on (anything held before is gone)."""
        self._clear()
        self.epoch += 1
        self.enabled = True
        self._wake()

    def switch_off(self) -> None:
        """The listener is gone: drop everything and serve uncached until it is back."""
        self.enabled = False
        self._clear()
        self.epoch += 1
        self._wake()

    async def wait_for(self, condition: Callable[[ProductCache], bool], seconds: float) -> None:
        """Wait until `condition(self)` holds (tests: a notification processed, the listener
        lost or back); TimeoutError after `seconds`."""
        async with asyncio.timeout(seconds):
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

    def _clear(self) -> None:
        self._rows.clear()
        self._lists.clear()
        self.bytes = 0

    def _wake(self) -> None:
        self._changed.set()


class CacheMetrics:
    """The cache's counters on the service's registry; the cache counts in plain integers on
    the request path and the collectors read them when /metrics is scraped."""

    def __init__(self, http: HttpMetrics, cache: ProductCache) -> None:
        for collector, read in (
            (http.counter("product_cache_hits_total", "Product reads answered from the cache."),
             lambda: cache.hits),
            (http.counter("product_cache_misses_total", "Product reads that went to the database."),
             lambda: cache.misses),
            (http.counter("product_cache_invalidations_total",
                          "Change notifications applied to the product cache."),
             lambda: cache.invalidations),
            (http.gauge("product_cache_entries", "Products held in the cache."),
             lambda: len(cache)),
            (http.gauge("product_cache_bytes", "Bytes of products held in the cache."),
             lambda: cache.bytes),
            (http.gauge("product_cache_listening",
                        "1 while the cache's change listener is connected (caching on)."),
             lambda: int(cache.enabled)),
        ):  # fmt: skip
            http.read_at_scrape(collector, read)


def listener_context(
    cache: ProductCache, database_url: str, *, application_name: str
) -> Callable[[Any], AsyncIterator[None]]:
    """A cleanup_ctx: the listener task runs while the app serves and is cancelled after."""

    async def _listener(_app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(_listen(cache, database_url, application_name))
        yield
        await cancel_and_wait(task)

    return _listener


async def _listen(cache: ProductCache, database_url: str, application_name: str) -> None:
    """Connect, LISTEN, switch the cache on, apply notifications; on any loss switch it off and
    try again every `cache.retry_seconds`."""
    while True:
        try:
            async with aiopg.connect(
                database_url,
                timeout=HEARTBEAT_SECONDS,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=application_name,
                enable_hstore=False,
                enable_json=False,
            ) as conn:
                async with conn.cursor() as cur:
                    await cur.execute(f"LISTEN {CHANNEL}")
                    cache.switch_on()
                    log.info("product cache on: listening for catalog changes")
                    try:
                        await _apply_notifications(conn, cur, cache)
                    finally:
                        cache.switch_off()
        except (psycopg2.Error, OSError, TimeoutError) as exc:
            log.warning("product cache off: change listener lost (%s)", type(exc).__name__)
        except Exception:  # a bug here must not end the listener for the process's lifetime
            log.exception("product cache off: change listener failed")
        await asyncio.sleep(cache.retry_seconds)


async def _apply_notifications(conn: aiopg.Connection, cur: aiopg.Cursor, cache: ProductCache):
    notifies = conn.notifies
    while True:
        try:
            async with asyncio.timeout(HEARTBEAT_SECONDS):
                notify = await notifies.get()
        except TimeoutError:
            await cur.execute("SELECT 1")  # raises when the connection is gone
            continue
        cache.notified(notify.payload)
