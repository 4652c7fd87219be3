"""CachedFiles: repeated downloads cost no new fetch, and few fetches run at once."""

from __future__ import annotations

import asyncio

import pytest

from bots.files import CachedFiles, fetch_for_delivery
from handlers.delivery_ports import DeliveryRefused, DeliveryRetry
from handlers.model import Attachment, AttachmentKind
from handlers.platform_ports import FileData, FileUnavailable


class CountingSource:
    def __init__(self, size: int = 10) -> None:
        self.size, self.calls, self.running, self.most = size, 0, 0, 0
        self.failure: FileUnavailable | None = None

    async def fetch(self, attachment: Attachment) -> FileData:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        if self.failure is not None:
            raise self.failure
        return FileData(attachment.ref.encode().ljust(self.size, b"."), "f.pdf",
                        "application/pdf")


def doc(ref: str) -> Attachment:
    return Attachment(AttachmentKind.DOCUMENT, ref, "f.pdf", "telegram")


async def test_a_file_is_fetched_once_until_it_expires() -> None:
    now = [0.0]
    source = CountingSource()
    cache = CachedFiles(source, ttl_s=600, clock=lambda: now[0])
    first = await cache.fetch(doc("A"))
    assert await cache.fetch(doc("A")) == first
    assert source.calls == 1
    now[0] = 601
    await cache.fetch(doc("A"))
    assert source.calls == 2


async def test_concurrent_requests_share_the_fetch_and_are_gated() -> None:
    source = CountingSource()
    cache = CachedFiles(source, parallel=2)
    await asyncio.gather(*(cache.fetch(doc("same")) for _ in range(10)))
    assert source.calls == 1
    await asyncio.gather(*(cache.fetch(doc(f"f{n}")) for n in range(10)))
    assert source.calls == 11
    assert source.most == 2


async def test_the_oldest_files_go_when_the_cache_is_full() -> None:
    source = CountingSource(size=100)
    cache = CachedFiles(source, max_bytes=400)
    for ref in ("A", "B", "C", "D", "E"):
        await cache.fetch(doc(ref))
    await cache.fetch(doc("E"))
    assert source.calls == 5  # E is kept
    await cache.fetch(doc("A"))
    assert source.calls == 6  # A was pushed out
    large = CountingSource(size=201)
    big = CachedFiles(large, max_bytes=400)
    await big.fetch(doc("X"))
    await big.fetch(doc("X"))  # over half of the cache: never kept
    assert large.calls == 2


async def test_failures_are_not_kept_and_map_to_the_outbox_contract() -> None:
    source = CountingSource()
    source.failure = FileUnavailable("timeout", permanent=False)
    cache = CachedFiles(source)
    with pytest.raises(DeliveryRetry):
        await fetch_for_delivery({"telegram": cache}, doc("A"))
    source.failure = FileUnavailable("invalid file_id", permanent=True)
    with pytest.raises(DeliveryRefused):
        await fetch_for_delivery({"telegram": cache}, doc("A"))
    assert source.calls == 2
    with pytest.raises(DeliveryRefused):
        await fetch_for_delivery({}, doc("A"))
