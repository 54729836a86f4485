"""kit.tasks.cancel_and_wait stops background tasks for certain, even one that loses a
cancellation (as asyncio.wait_for does before Python 3.12 when its future completes at the same
moment, which aiopg's every query goes through)."""

import asyncio

import pytest

from kit import tasks
from kit.tasks import cancel_and_wait


def stubborn_loop(swallow: int) -> tuple[asyncio.Task, list[int]]:
    """A loop like a listener's that loses its first `swallow` cancellations."""
    lost = [0]

    async def loop() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if lost[0] < swallow:
                    lost[0] += 1
                    asyncio.current_task().uncancel()
                    continue
                raise

    return asyncio.create_task(loop()), lost


async def test_a_task_that_loses_a_cancellation_is_still_stopped(monkeypatch):
    monkeypatch.setattr(tasks, "RECANCEL_SECONDS", 0.05)
    task, lost = stubborn_loop(swallow=2)
    await asyncio.sleep(0)
    task.cancel()  # what a single cancel-then-await does: the task runs on
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done and lost == [1]
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled()
    assert lost == [2]


async def test_ended_and_failed_tasks_are_waited_for_without_raising():
    async def fail() -> None:
        raise RuntimeError("boom")

    async def wait_forever() -> None:
        await asyncio.Event().wait()

    failed = asyncio.create_task(fail())
    finished = asyncio.create_task(asyncio.sleep(0))
    running = asyncio.create_task(wait_forever())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(cancel_and_wait(failed, finished, running), 5)
    assert running.cancelled()
    assert failed.done() and not failed.cancelled()
    with pytest.raises(RuntimeError):
        failed.result()


async def test_nothing_to_stop():
    await asyncio.wait_for(cancel_and_wait(), 1)
