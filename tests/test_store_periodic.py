"""The periodic task behind event retention and vacuuming (app.store.periodic)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.store.periodic import Periodic


class Flaky(Periodic):
    """Fails its first rounds with the errors given, then counts the rounds that work."""

    name = "flaky work"
    interval = 0.01

    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.errors = list(errors)
        self.done = 0

    async def tick(self) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.done += 1


async def run_until(task: Flaky, rounds: int) -> None:
    task.start()
    try:
        for _ in range(500):
            if task.done >= rounds:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{task.done} rounds ran, not {rounds}")
    finally:
        await task.stop()


async def test_a_failed_round_is_logged_and_the_next_round_runs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="tmf629")
    task = Flaky(RuntimeError("boom"))
    await run_until(task, 2)
    [record] = caplog.records
    assert record.getMessage() == "flaky work failed; trying again in 0 s"
    assert record.exc_info is not None and str(record.exc_info[1]) == "boom"


async def test_an_outage_is_left_to_the_stores_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="tmf629")
    await run_until(Flaky(ConnectionRefusedError("the database is away")), 1)
    assert caplog.records == []


async def test_stop_ends_the_rounds() -> None:
    task = Flaky()
    await run_until(task, 1)
    done = task.done
    await asyncio.sleep(0.05)
    assert task.done == done
    await task.stop()  # twice is fine
