"""Files kept by Telegram (file_id), fetched to pass them to clients in other channels."""

from __future__ import annotations

import mimetypes
import posixpath

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from handlers.model import Attachment, AttachmentKind
from handlers.platform_ports import FileData, FileUnavailable
from handlers.secrets import error_text, redact

# getFile serves files of up to 20 MB; a local Bot API server serves more, but a client's
# web chat or VK message is no place for larger ones either.
MAX_BYTES = 20 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 60

_DEFAULT_NAMES = {
    AttachmentKind.PHOTO: "photo.jpg",
    AttachmentKind.VOICE: "voice.ogg",
    AttachmentKind.VIDEO: "video.mp4",
    AttachmentKind.STICKER: "sticker.webp",
}


def file_name(attachment: Attachment, file_path: str) -> str:
    """The sender's own name when Telegram kept one, else one that says what it is."""
    if attachment.name and "." in attachment.name:
        return attachment.name
    default = _DEFAULT_NAMES.get(attachment.kind, "file")
    suffix = posixpath.splitext(file_path)[1]
    stem = attachment.name or posixpath.splitext(default)[0]
    return f"{stem}{suffix}" if suffix else (attachment.name or default)


class TelegramFiles:
    """The FileSource of the Telegram channel: getFile, then the download by file_path."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, attachment: Attachment) -> FileData:
        try:
            found = await self._bot.get_file(attachment.ref)
            if not found.file_path:
                raise FileUnavailable("Telegram gave no file_path", permanent=True)
            if found.file_size and found.file_size > MAX_BYTES:
                raise FileUnavailable(f"file of {found.file_size} bytes is over 20 MB",
                                      permanent=True)
            body = await self._bot.download_file(found.file_path,
                                                 timeout=DOWNLOAD_TIMEOUT_S)
        except aiohttp.ClientResponseError as exc:
            # The download answered 4xx: the file expired or its path is wrong, and asking
            # again for hours won't bring it back (429 and 5xx may pass). The error names the
            # URL, token and all: only the status and reason are kept.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise FileUnavailable(f"download failed: HTTP {exc.status} {redact(exc.message)}",
                                  permanent=permanent) from exc
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter,
                aiohttp.ClientError, TimeoutError) as exc:
            raise FileUnavailable(error_text(exc), permanent=False) from exc
        except TelegramAPIError as exc:  # a wrong or expired file_id: asking again won't help
            raise FileUnavailable(redact(exc.message), permanent=True) from exc
        if body is None:
            raise FileUnavailable("empty download", permanent=False)
        name = file_name(attachment, found.file_path)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return FileData(body.read(), name, mime)
