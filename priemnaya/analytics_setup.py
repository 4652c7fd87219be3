"""Wiring of the analytics part: admin pages, the retention job and masked logging."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from analytics.retention import build_retention_job
from analytics.web.deps import AdminDeps, no_broken_templates, no_reload_failure
from faq.live import LiveFaq, ReloadFailure
from handlers.actions import erase_client
from handlers.faq_ports import Faq
from handlers.pii import MaskingFilter
from handlers.routing import MemberWithoutAccount, QueueDirectory, members_without_account
from handlers.texts import BrokenTemplate
from priemnaya.faq_setup import unrouted_categories
from priemnaya.runtime import Runtime
from priemnaya.settings import Settings
from priemnaya.settings_work import build_queue_directory
from storage.users import SqlStaffAccounts


def build_queues(settings: Settings) -> QueueDirectory:
    return build_queue_directory(settings.calendar, settings.queues, settings.default_queue,
                                 settings.crisis.urgent_queue)


def kb_failure_of(faq: Faq) -> Callable[[], ReloadFailure | None]:
    """Why the files do not load, read on every page: only a live knowledge base reloads."""
    return (lambda: faq.reload_failure) if isinstance(faq, LiveFaq) else no_reload_failure


def build_admin_deps(
    rt: Runtime, broken_pages: Callable[[], Sequence[BrokenTemplate]] = no_broken_templates,
) -> AdminDeps:
    settings, faq = rt.settings, rt.faq
    kb_failure = kb_failure_of(faq)
    async def erase(client_id: int, now: datetime) -> None:
        # As on the client's own request: the Telegram topics hear of it too.
        await erase_client(rt.store, rt.notifier, client_id, now, by="admin")

    return AdminDeps(sessions=rt.sessions, queues=build_queues(settings),
                     tz=ZoneInfo(settings.institution.timezone), clock=rt.clock,
                     erase_client=erase, institution=settings.institution.id,
                     faq=faq, kb_failure=kb_failure,
                     broken_templates=lambda: [*rt.texts.broken(), *broken_pages()],
                     unrouted=lambda: unrouted_categories(settings, faq.kb),
                     without_account=lambda: queue_members_without_account(rt))


async def queue_members_without_account(rt: Runtime) -> list[MemberWithoutAccount]:
    queues = rt.directory.queues
    logins = sorted({login for q in queues for login in q.members})
    active = await SqlStaffAccounts(rt.sessions).active_logins(logins) if logins else set()
    return members_without_account(queues, active)


def add_retention(rt: Runtime) -> None:
    rt.background.append(build_retention_job(rt.sessions, rt.clock,
                                             rt.settings.retention.raw_text_days))


def install_log_masking() -> None:
    """On the handlers: a filter on a logger would miss records propagated from its children."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
