"""HTML fragments rendered from catalog answers, reused while those answers are unchanged.

Rendering a catalog page's results (24 cards, the category list, the filter form, a dozen
links) costs several hundred microseconds; the same results are asked for again and again while
the catalog cache (ttl_cache.py) hands out the same answer. So a fragment is kept together with
the answer objects it was rendered from (`sources`) and reused only while the catalog cache
returns *those very objects* (compared with `is`; the entry holds them, so their identity cannot
be reused by other objects): a refreshed or re-read answer is a new object and the fragment is
rendered again. The fragment therefore shows exactly what a fresh render would, never older
catalog data than the catalog cache itself (with CATALOG_CACHE_SECONDS=0 every answer is new and
nothing is reused).

Only what does not depend on the shopper goes into a fragment: never the session, the cart, the
CSRF token or the request id (the layout around it is rendered per request).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from markupsafe import Markup

FRAGMENT_MAX_ENTRIES = 256  # about 12 KB of HTML each, plus the answers they hold


class FragmentCache:
    def __init__(self, max_entries: int = FRAGMENT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[tuple[Any, ...], Markup]] = {}

    def get(self, key: Hashable, sources: tuple[Any, ...], render: Callable[[], Markup]) -> Markup:
        """The fragment for `key` rendered from `sources`: kept if rendered from these very
        objects, else `render()` now (and kept)."""
        entry = self._entries.get(key)
        if entry is not None and _same(entry[0], sources):
            return entry[1]
        fragment = render()
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[key] = (sources, fragment)
        return fragment

    def __len__(self) -> int:
        return len(self._entries)


def _same(kept: tuple[Any, ...], sources: tuple[Any, ...]) -> bool:
    return len(kept) == len(sources) and all(a is b for a, b in zip(kept, sources, strict=True))
