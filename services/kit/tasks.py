"""Background tasks of an application (a change listener, a periodic purge, cache refreshes):
stopped for certain when the application shuts down."""

from __future__ import annotations

import asyncio

# How long to wait for a cancelled task before cancelling it again.
RECANCEL_SECONDS = 1.0


async def cancel_and_wait(*tasks: asyncio.Task) -> None:
    """Cancel `tasks` and wait until every one has ended, cancelling again every RECANCEL_SECONDS
    while one still runs; what they return or raise is discarded.

    One cancellation is not always enough: before Python 3.12, asyncio.wait_for drops a
    cancellation that arrives as the future it waits for completes, and aiopg waits for every
    query that way. A loop whose cancellation lands as its query answers goes on running, and an
    `await task` after one `task.cancel()` never returns: the application's shutdown hangs (seen
    with the product cache's listener, which sends a query every few seconds)."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio does not log it as never retrieved
