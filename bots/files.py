"""Where a channel finds a file that another channel keeps (FileSource by channel name)."""

from __future__ import annotations

from collections.abc import Mapping

from handlers.model import Attachment
from handlers.ports import DeliveryRefused, DeliveryRetry, FileData, FileSource, FileUnavailable

FileSources = Mapping[str, FileSource]


async def fetch_for_delivery(files: FileSources, attachment: Attachment) -> FileData:
    """The file's bytes, or the outbox's retry/refuse contract when they cannot be had."""
    source = files.get(attachment.source)
    if source is None:
        raise DeliveryRefused(f"files of channel {attachment.source or '?'} cannot be fetched "
                              f"(channel not enabled)")
    try:
        return await source.fetch(attachment)
    except FileUnavailable as exc:
        if exc.permanent:
            raise DeliveryRefused(f"file {attachment.name or attachment.kind}: {exc}") from exc
        raise DeliveryRetry(f"file {attachment.name or attachment.kind}: {exc}") from exc
