"""What of a client's data the specialists' Telegram group is shown (152-ФЗ: Telegram is a
foreign messenger, so every post there is a cross-border transfer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from handlers.model import Attachment, AttachmentKind, Channel
from handlers.names import known_name
from handlers.pii import client_label, mask

# A location's coordinates and a contact's phone are the reference itself.
_INLINE = (AttachmentKind.LOCATION, AttachmentKind.CONTACT)


@dataclass(frozen=True, slots=True)
class Shown:
    """A text as posted, and whether anything of it (data, files) is left to the web desk."""

    text: str
    hidden: bool


@dataclass(frozen=True, slots=True)
class StaffPrivacy:
    """full_texts: telegram.staff_full_texts; desk_url: web.public_url, for links to the desk."""

    full_texts: bool = False
    desk_url: str = ""

    def text(self, text: str, public: frozenset[str],
             known: frozenset[str] = frozenset()) -> Shown:
        """Masked as the admin pages mask it (analytics/logbook.py): names too, with `known`
        (handlers.names.known_name of the client) their first name alone; the institution's
        own contacts stay readable."""
        if self.full_texts:
            return Shown(text, False)
        masked = mask(text, public, names=True, known=known)
        return Shown(masked, masked != text)

    def known(self, client_name: str) -> frozenset[str]:
        """The words of the client's name to mask wherever they stand; none with full texts."""
        return frozenset() if self.full_texts else known_name(client_name)

    def name(self, name: str) -> str:
        return client_label(name, self.full_texts)

    def link(self, conversation_id: int) -> str:
        """The conversation on the web desk, when the service knows its public address."""
        base = self.desk_url.rstrip("/")
        return f"{base}/desk/c/{conversation_id}" if base else ""

    def resent(self, channel: Channel, attachments: Sequence[Attachment]) -> list[Attachment]:
        """Files reposted into the group: only with full texts, and only Telegram's own
        (by file_id). A VK or web-chat file's address is never passed on: VK's links open
        for anyone who has them, and Telegram would fetch the file from it."""
        if not self.full_texts or channel is not Channel.TELEGRAM:
            return []
        return [a for a in attachments if a.source in ("", Channel.TELEGRAM)]

    def listed(self, attachments: Sequence[Attachment], public: frozenset[str],
               resent: Sequence[Attachment] = (), known: frozenset[str] = frozenset()
               ) -> tuple[list[Attachment], bool]:
        """The attachments as the post names them, and whether any is only on the desk.

        A file's name may hold a name or a number («Смирнов_СНИЛС.pdf»): masked like the
        text. No file address is shown; a location or a contact only with full texts."""
        listed, on_desk = [], False
        for a in attachments:
            ref = a.ref if self.full_texts and a.kind in _INLINE else ""
            listed.append(replace(a, ref=ref, name=self.text(a.name, public, known).text))
            on_desk = on_desk or not (ref or a in resent)
        return listed, on_desk
