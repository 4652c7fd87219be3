"""Group commit: concurrent small writes of one kind share one transaction.

A caller still waits until its own row is committed, so nothing it was promised changes; what
changes is that eight webhook deliveries arriving together cost one transaction instead of
eight (a transaction costs 0.4 ms of Python around the 0.05 ms SQLite needs,
docs/benchmarks.md). With one caller at a time a batch is that caller alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

MAX_BATCH = 200


class GroupCommit(Generic[T, R]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
                 max_batch: int = MAX_BATCH,
                 one: Callable[[T], Awaitable[R]] | None = None) -> None:
        """write(items) stores items in one transaction and returns one result per item.

        one(item), when given, is the item's own path: when a batch fails (a duplicate key, a
        value the database refuses), its items are retried one by one through it, so that one
        caller's bad row fails that caller alone and not its neighbours in the batch.
        """
        self._write = write
        self._one = one
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # A caller that gives up (a closed webhook connection) cancels only its own future:
        # the batch that carries other callers' rows runs in the flusher task, and skips a
        # future that is already done. No shield needed (one future and callback less).
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the callers that are ready now join this batch
        while self._pending:
            batch = self._pending[:self._max_batch]
            del self._pending[:len(batch)]
            try:
                await self._settle(batch)
            except BaseException:
                # Cancelled (the loop is stopping): nobody will write the rest either.
                for _, future in batch + self._pending:
                    future.cancel()
                self._pending.clear()
                raise

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:
            if self._one is not None:
                # The first line only: SQLAlchemy's next lines quote the SQL and its
                # parameters, i.e. the clients' texts.
                log.info("a batch of %s writes failed (%s): written one by one", len(batch),
                         str(exc).split("\n", 1)[0][:300])
                await self._one_by_one(batch)
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        assert self._one is not None
        for item, future in batch:
            try:
                result = await self._one(item)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
