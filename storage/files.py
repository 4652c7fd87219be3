"""SqlFileStore: files specialists send from the web desk, kept in the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import Attachment, AttachmentKind
from handlers.platform_ports import FileData, FileUnavailable
from storage.models import DEFAULT_INSTITUTION, StoredFile

# The source name of these files in an Attachment: the desk, not a messenger, keeps them.
SOURCE = "desk"


class SqlFileStore:
    """The FileSource of the web desk. The database keeps the bytes: a deployment has no
    shared disk between replicas, and the files are few and small (MAX_UPLOAD_BYTES)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = DEFAULT_INSTITUTION) -> None:
        self._sessions = sessions
        self._institution = institution_id

    async def save(self, name: str, mime: str, content: bytes, uploaded_by: int | None,
                   now: datetime) -> Attachment:
        async with self._sessions.begin() as s:
            row = StoredFile(institution_id=self._institution, name=name[:255],
                             mime=mime[:100], size=len(content),
                             sha256=hashlib.sha256(content).hexdigest(), content=content,
                             uploaded_by=uploaded_by, created_at=now)
            s.add(row)
            await s.flush()
            return Attachment(kind_of(mime), str(row.id), row.name, SOURCE)

    async def fetch(self, attachment: Attachment) -> FileData:
        row = None
        if attachment.ref.isdigit() and len(attachment.ref) <= 18:
            async with self._sessions() as s:
                row = await s.get(StoredFile, int(attachment.ref))
        if row is None:
            raise FileUnavailable(f"no stored file {attachment.ref[:20]!r}", permanent=True)
        return FileData(row.content, row.name, row.mime)

    @staticmethod
    async def delete_for(s: AsyncSession, attachments: Iterable[Attachment]) -> None:
        """Within the caller's transaction: the desk's files among these attachments."""
        ids = [int(a.ref) for a in attachments if a.source == SOURCE and a.ref.isdigit()]
        if ids:
            await s.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))


def kind_of(mime: str) -> AttachmentKind:
    """Pictures go as photos where a channel shows them so; everything else as a document."""
    return AttachmentKind.PHOTO if mime in ("image/jpeg", "image/png") else \
        AttachmentKind.DOCUMENT
