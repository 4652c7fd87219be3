"""Where a channel finds a file that another channel keeps (FileSource by channel name)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from handlers.delivery_ports import DeliveryRefused, DeliveryRetry
from handlers.model import Attachment
from handlers.platform_ports import FileData, FileSource, FileUnavailable
from handlers.secrets import redact

FileSources = Mapping[str, FileSource]
FILE_PREFIX = "file "  # a delivery error about a file starts so (bots/delivery_errors.py)


async def fetch_for_delivery(files: FileSources, attachment: Attachment) -> FileData:
    """The file's bytes, or the outbox's retry/refuse contract when they cannot be had."""
    source = files.get(attachment.source)
    if source is None:
        raise DeliveryRefused(f"files of channel {attachment.source or '?'} cannot be fetched "
                              f"(channel not enabled)")
    try:
        return await source.fetch(attachment)
    except FileUnavailable as exc:
        reason = redact(f"{FILE_PREFIX}{attachment.name or attachment.kind}: {exc}")
        if exc.permanent:
            raise DeliveryRefused(reason) from exc
        raise DeliveryRetry(reason) from exc


class CachedFiles:
    """A FileSource that keeps recent files and fetches a few at a time.

    A client clicking a link again, or a script hammering it, costs no new download from the
    platform; and however many requests arrive together, at most `parallel` files of up to
    20 MB are held in flight.
    """

    # 48 MB: with the service's ~240 MB after start-up it stays under its 300 MB budget.
    def __init__(self, source: FileSource, max_bytes: int = 48 * 2**20, ttl_s: float = 600,
                 parallel: int = 4, clock: Callable[[], float] = time.monotonic) -> None:
        self._source, self._max_bytes, self._ttl, self._clock = source, max_bytes, ttl_s, clock
        self._kept: OrderedDict[tuple[str, str], tuple[float, FileData]] = OrderedDict()
        self._size = 0
        self._gate = asyncio.Semaphore(parallel)
        self._pending: dict[tuple[str, str], asyncio.Future[FileData]] = {}

    async def fetch(self, attachment: Attachment) -> FileData:
        key = (attachment.source, attachment.ref)
        found = self._fresh(key)
        if found is not None:
            return found
        # Requests for a file already on its way wait for that download, not a new one.
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, attachment))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _load(self, key: tuple[str, str], attachment: Attachment) -> FileData:
        async with self._gate:
            found = await self._source.fetch(attachment)
        self._keep(key, found)
        return found

    def _fresh(self, key: tuple[str, str]) -> FileData | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if self._clock() - kept[0] > self._ttl:
            self._drop(key)
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def _keep(self, key: tuple[str, str], data: FileData) -> None:
        if len(data.content) > self._max_bytes // 2:
            return  # one big file must not push out everything else
        self._kept[key] = (self._clock(), data)
        self._size += len(data.content)
        while self._size > self._max_bytes:
            self._drop(next(iter(self._kept)))

    def _drop(self, key: tuple[str, str]) -> None:
        _, data = self._kept.pop(key)
        self._size -= len(data.content)
