"""A task that runs a round every few seconds beside the app: event retention, vacuuming."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.store.outage import is_unreachable

logger = logging.getLogger("tmf629")


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel `task`, if any, and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Periodic:
    """Runs `tick` every `interval` seconds from `start` until `stop`. A failed round is logged (an
    outage is logged by the store instead) and the next round tries again."""

    name = "periodic"  # the task's name, and the logs'
    interval = 60.0

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception as error:
                if not is_unreachable(error):
                    logger.exception("%s failed; trying again in %.0f s", self.name, self.interval)
