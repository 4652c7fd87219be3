"""The specialists' web desk: queues, conversations, live updates, FAQ suggestions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from aiohttp import web

from bots.web.auth import StaffUser
from bots.web.desk.canned import CannedResponses
from bots.web.desk.hub import DeskHub
from faq.live import ReloadFailure
from handlers.desk import SpecialistDesk
from handlers.faq_ports import Faq, KnowledgeBaseEditor
from handlers.platform_ports import FileSource
from handlers.routing import QueueDirectory
from storage.desk_queries import DeskRow, SqlDeskQueries
from storage.faq_suggestions import SqlFaqSuggestions
from storage.files import SqlFileStore
from storage.users import SqlAuditLog


@dataclass(frozen=True, slots=True)
class DeskServices:
    desk: SpecialistDesk
    queries: SqlDeskQueries
    suggestions: SqlFaqSuggestions
    directory: QueueDirectory
    hub: DeskHub
    canned: CannedResponses
    audit: SqlAuditLog
    faq: Faq
    clock: Callable[[], datetime]
    kb_editor: KnowledgeBaseEditor | None = None
    zone: tzinfo = UTC  # times on the pages: the institution's
    # Where the files of each channel are fetched from (clients' photos from Telegram).
    files: Mapping[str, FileSource] = field(default_factory=dict)
    uploads: SqlFileStore | None = None  # keeps the files specialists send from the desk
    # Edited files that did not load: the suggestions page says so, as the admin pages do.
    kb_failure: Callable[[], ReloadFailure | None] = lambda: None
    # (specialist, conversation) → when their opening was last audited, in this process.
    viewed: dict[tuple[int, int], datetime] = field(default_factory=dict)

    async def log_view(self, user: StaffUser, conversation_id: int) -> None:
        """An opening of a conversation page, audited once in VIEW_AGAIN: the page a take,
        a reply or a close returns to is the same reading, not a new one."""
        now, key = self.clock(), (user.id, conversation_id)
        last = self.viewed.get(key)
        if last is not None and now - last < VIEW_AGAIN:
            return
        if len(self.viewed) >= 10_000:
            self.viewed.clear()
        self.viewed[key] = now
        await self.log(user, "desk_view", conversation_id)

    async def log(self, user: StaffUser, action: str, conversation_id: int,
                  details: str = "") -> None:
        await self.audit.write(user.login, action, self.clock(), "conversation",
                               str(conversation_id), details)


DESK = web.AppKey("desk", DeskServices)
VIEW_AGAIN = timedelta(minutes=10)


def holder_of(row: DeskRow) -> str:
    """Where a conversation is and who holds it, as a page's action forms carry it: an action
    sent from a page drawn before a colleague moved, took or released it is refused."""
    return f"{row.queue}/{row.assigned_to or ''}"


def works_on(user: StaffUser, row: DeskRow) -> bool:
    """Who may act on a conversation: its assignee, anyone while it is free, and
    administrators."""
    return user.role == "admin" or row.assigned_to in (None, user.id)


def opens_files(user: StaffUser, row: DeskRow) -> bool:
    """A client's files (photos of passports) open for the specialist the conversation is
    assigned to and for administrators (each view audited): as with its texts, a colleague
    takes it first."""
    return user.role == "admin" or row.assigned_to == user.id


def reads_in_full(user: StaffUser, row: DeskRow) -> bool:
    """Only the specialist a conversation is assigned to reads its texts unmasked, to call the
    client back; colleagues, administrators, and everyone while it waits read them masked, as
    the admin transcript shows them."""
    return row.assigned_to == user.id


def may_see(user: StaffUser, row: DeskRow) -> bool:
    """A conversation the bot alone has had was never handed over: its client agreed to no
    specialist reading it (152-ФЗ), so of the staff only administrators may open it."""
    return user.role == "admin" or row.escalated_at is not None or row.assigned_to == user.id


def setup_desk(app: web.Application, services: DeskServices) -> None:
    from bots.web.desk import actions, events, suggestions, views

    app[DESK] = services
    views.setup_routes(app)
    actions.setup_routes(app)
    events.setup_routes(app)
    suggestions.setup_routes(app)
