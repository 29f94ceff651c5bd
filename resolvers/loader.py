"""CustomerLoader: the per-request DataLoader of customers by id.

Loads made while one turn of the event loop resolves sibling fields are fetched together: one
primary-key read for a batch of one, one `get_many` statement for more. Results are kept for the rest
of the request, so a customer asked for twice is read once.

It does what `strawberry.dataloader.DataLoader` does for this one key type without creating a task per
batch: the first load of a turn yields once to let its siblings join, then fetches for all of them.
On a small query that task was a noticeable share of the work.
"""

from __future__ import annotations

import asyncio

from app.domain.errors import NotFound
from app.services import CustomerRecord, CustomerService

Waiting = list[tuple[str, "asyncio.Future[CustomerRecord | None]"]]


class CustomerLoader:
    def __init__(self, service: CustomerService, *, cache: bool = True) -> None:
        self._service = service
        self._cache: dict[str, asyncio.Future[CustomerRecord | None]] | None = {} if cache else None
        self._batch: Waiting | None = None

    async def load(self, customer_id: str, *, alone: bool = False) -> CustomerRecord | None:
        """The customer, or None. `alone`: the caller knows no sibling field will load in this turn
        (a lone root field), so there is no batch to wait for."""
        if self._cache is not None and customer_id in self._cache:
            return await self._cache[customer_id]
        if alone and self._batch is None:
            found = await self._fetch([customer_id])
            return found.get(customer_id)
        future: asyncio.Future[CustomerRecord | None] = asyncio.get_running_loop().create_future()
        if self._cache is not None:
            self._cache[customer_id] = future
        if self._batch is not None:  # a sibling leads this turn's batch
            self._batch.append((customer_id, future))
            return await future
        self._batch = [(customer_id, future)]
        await asyncio.sleep(0)  # the siblings scheduled in this turn join the batch
        batch, self._batch = self._batch, None
        try:
            found = await self._fetch(list(dict.fromkeys(key for key, _ in batch)))
        except Exception as error:
            for _, waiting in batch:
                if not waiting.done():
                    waiting.set_exception(error)
            raise
        for key, waiting in batch:
            if not waiting.done():
                waiting.set_result(found.get(key))
        return await future

    async def _fetch(self, ids: list[str]) -> dict[str, CustomerRecord]:
        if len(ids) > 1:
            return await self._service.get_many(ids)
        try:
            return {ids[0]: await self._service.get(ids[0])}
        except NotFound:
            return {}
