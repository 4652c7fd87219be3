"""What a channel adapter hands to the composition root, and what it is given."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiohttp import web

from handlers.delivery_ports import ChannelSender
from handlers.desk import SpecialistDesk
from handlers.event_ports import Notifier
from handlers.faq_ports import Faq
from handlers.platform_ports import FileSource, InboundLog
from handlers.ports import ConversationStore, Texts
from handlers.reception import Reception
from handlers.staff_ports import StaffBacklog, StaffDirectory, StaffPosts, StaffThreads


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """Everything an adapter may use; it gets nothing else from the rest of the system."""

    reception: Reception
    desk: SpecialistDesk
    store: ConversationStore
    inbound: InboundLog
    staff: StaffDirectory
    threads: StaffThreads
    faq: Faq
    texts: Texts
    notifier: Notifier  # all surfaces, for events an adapter itself raises
    clock: Callable[[], datetime]
    # Every enabled channel's FileSource by channel name, filled as channels are added: a
    # specialist's file from Telegram reaches a web-chat or VK client through it.
    files: dict[str, FileSource] = field(default_factory=dict)
    # Queue id → the title specialists read («Срочные обращения», not "urgent").
    queue_titles: Mapping[str, str] = field(default_factory=dict)
    # What staff surfaces were shown, for an erasure to delete there too.
    posts: StaffPosts | None = None
    # Posts a staff surface did not take during its outage, kept in order.
    backlog: StaffBacklog | None = None


class ChannelPlugin(Protocol):
    channel: str
    sender: ChannelSender | None  # None for a staff-only surface
    files: FileSource | None  # where other channels fetch the files this one keeps

    @property
    def notifier(self) -> Notifier | None:
        """Shows conversation events to specialists on this platform, if it does."""

    def setup_routes(self, app: web.Application) -> None:
        """Webhook or callback routes on the project's aiohttp app."""

    async def run(self) -> None:
        """Long-running work (polling); returns at once in webhook mode."""

    async def replay(self, raw: str) -> None:
        """Process a kept raw event again; its messages are deduplicated as on delivery."""

    async def close(self) -> None: ...
