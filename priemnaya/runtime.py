"""The composition root: builds every part once from the settings and wires them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bots.notify import FanoutNotifier, LogNotifier
from bots.outbox import OutboxWorker
from bots.web.sender import WebChatSender
from handlers.desk import SpecialistDesk
from handlers.model import Channel
from handlers.plain import NoCrisisRules, PlainRouter
from handlers.ports import ChannelSender, CrisisDetector, Faq, Router
from handlers.reception import Deps, Reception
from handlers.replies import ReplyBuilder
from handlers.texts import JinjaTexts
from priemnaya.settings import Settings
from storage.conversations import SqlConversationStore
from storage.engine import build_engine, build_sessions
from storage.outbox import SqlClientTimeline, SqlDeliveryQueue


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    faq: Faq
    texts: JinjaTexts
    notifier: FanoutNotifier
    worker: OutboxWorker
    reception: Reception
    desk: SpecialistDesk
    store: SqlConversationStore
    timeline: SqlClientTimeline
    senders: dict[str, ChannelSender]
    clock: Callable[[], datetime]
    background: list[Callable[[], Any]] = field(default_factory=list)


def build_runtime(
    settings: Settings, faq: Faq, *, clock: Callable[[], datetime] = utc_now,
    router: Router | None = None, crisis: CrisisDetector | None = None,
) -> Runtime:
    engine = build_engine(settings.database.url)
    sessions = build_sessions(engine)
    overrides = [settings.templates.override_dir] if settings.templates.override_dir else []
    texts = JinjaTexts(overrides)
    notifier = FanoutNotifier([LogNotifier()])
    senders: dict[str, ChannelSender] = {Channel.WEB: WebChatSender()}
    worker = OutboxWorker(SqlDeliveryQueue(sessions), senders, notifier, clock,
                          poll_interval=settings.outbox.poll_interval_s)
    store = SqlConversationStore(sessions, settings.institution.id)
    deps = Deps(store=store, faq=faq, replies=ReplyBuilder(texts, faq), notifier=notifier,
                outbox=worker, router=router or PlainRouter(texts),
                crisis=crisis or NoCrisisRules(), clock=clock)
    return Runtime(settings, engine, sessions, faq, texts, notifier, worker, Reception(deps),
                   SpecialistDesk(deps), store, SqlClientTimeline(sessions), senders, clock)


@contextlib.asynccontextmanager
async def running(rt: Runtime) -> AsyncIterator[Runtime]:
    """Runs the outbox worker and every registered background job until the block ends."""
    tasks = [asyncio.create_task(rt.worker.run(), name="outbox")]
    tasks += [asyncio.create_task(job(), name=getattr(job, "__name__", "job"))
              for job in rt.background]
    try:
        yield rt
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await rt.engine.dispose()
