"""The composition root: builds every part once from the settings and wires them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bots.files import CachedFiles
from bots.notify import FanoutNotifier, LogNotifier
from bots.outbox import OutboxWorker
from bots.plugin import ChannelContext, ChannelPlugin
from bots.redis_bus import RedisEventBus, event_channel
from bots.web.desk.hub import DeskHub
from bots.web.sender import WebChatSender
from handlers.assign import AutoAssigner
from handlers.crisis import CrisisRulesError, load_crisis_rules
from handlers.delivery_ports import ChannelSender
from handlers.deps import Deps
from handlers.desk import SpecialistDesk
from handlers.escalation import CalendarRouter
from handlers.faq_ports import Faq, KnowledgeBaseEditor
from handlers.model import Channel
from handlers.outage_log import OutageLog
from handlers.ports import CrisisDetector
from handlers.queue_ports import Router
from handlers.reception import Reception
from handlers.reminders import ReminderJob
from handlers.replies import ReplyBuilder
from handlers.routing import QueueDirectory
from handlers.texts import JinjaTexts
from priemnaya.settings import Settings, SettingsError
from priemnaya.settings_work import build_queue_directory
from storage.conversations import SqlConversationStore
from storage.desk_queries import SqlReplyTargets
from storage.engine import build_engine, build_sessions
from storage.files import SOURCE as FILE_SOURCE
from storage.files import SqlFileStore
from storage.outbox import SqlClientTimeline, SqlDeliveryQueue
from storage.sqlite_inline import checkpoint
from storage.staff import SqlInboundLog, SqlStaffDirectory, SqlStaffThreads
from storage.staff_backlog import SqlStaffBacklog
from storage.staff_posts import SqlStaffPosts
from storage.users import SqlStaffAccounts

log = logging.getLogger(__name__)


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
    context: ChannelContext
    directory: QueueDirectory
    desk_hub: DeskHub
    # Surfaces every replica serves (the desk's live view): fed locally and, when Redis is
    # configured, with the events other replicas raise.
    replica_surfaces: FanoutNotifier = field(default_factory=FanoutNotifier)
    uploads: SqlFileStore | None = None  # files specialists send from the web desk
    # The FAQ's live editor, adapted by the composition root; None: suggestions only rejected.
    kb_editor: KnowledgeBaseEditor | None = None
    event_bus: RedisEventBus | None = None  # with redis.url: other replicas' events
    channels: list[ChannelPlugin] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)

    def add_channel(self, plugin: ChannelPlugin) -> None:
        self.channels.append(plugin)
        if plugin.sender is not None:
            self.senders[plugin.channel] = plugin.sender
        if plugin.files is not None:
            self.context.files[plugin.channel] = CachedFiles(plugin.files)
        if plugin.notifier is not None:
            self.notifier.add(plugin.notifier)


def message_overrides(settings: Settings) -> list[Path]:
    """An institution's client texts: its folder's messages/, as web/ and canned/ beside it;
    *.j2 files at the folder's top level are still read (the layout before messages/)."""
    folder = settings.templates.override_dir
    return [folder / "messages", folder] if folder is not None else []


def build_runtime(
    settings: Settings, faq: Faq, *, clock: Callable[[], datetime] = utc_now,
    router: Router | None = None, crisis: CrisisDetector | None = None,
) -> Runtime:
    engine = build_engine(settings.database.url)
    sessions = build_sessions(engine)
    texts = JinjaTexts(message_overrides(settings))
    notifier = FanoutNotifier([LogNotifier()])
    senders: dict[str, ChannelSender] = {Channel.WEB: WebChatSender()}
    worker = OutboxWorker(SqlDeliveryQueue(sessions), senders, notifier, clock,
                          poll_interval=settings.outbox.poll_interval_s)
    inbound = SqlInboundLog(sessions)
    store = SqlConversationStore(sessions, settings.institution.id, worker=worker,
                                 inbound=inbound)
    directory = build_directory(settings)
    replies = ReplyBuilder(texts, faq, settings.institution.name)
    deps = Deps(store=store, faq=faq, replies=replies, notifier=notifier,
                router=router or CalendarRouter(directory, texts),
                crisis=crisis or build_crisis_rules(settings), clock=clock)
    reception = Reception(deps)
    desk = SpecialistDesk(deps, [q.id for q in directory.queues])
    hub = DeskHub()
    if any(q.auto_assign for q in directory.queues):
        notifier.add(AutoAssigner(store, directory, SqlStaffAccounts(sessions), desk, clock))
    reminders = ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock,
                            settings.desk.reminder_interval_s)
    ctx = ChannelContext(reception=reception, desk=desk, store=store,
                         inbound=inbound, staff=SqlStaffDirectory(sessions, clock, texts),
                         threads=SqlStaffThreads(sessions), faq=faq, texts=texts,
                         notifier=notifier, clock=clock, queue_titles=directory.titles(),
                         posts=SqlStaffPosts(sessions), backlog=SqlStaffBacklog(sessions))
    rt = Runtime(settings, engine, sessions, faq, texts, notifier, worker, reception, desk,
                 store, SqlClientTimeline(sessions), senders, clock, ctx, directory, hub)
    rt.uploads = SqlFileStore(sessions, settings.institution.id)
    ctx.files[FILE_SOURCE] = rt.uploads  # in the database already: nothing to cache
    rt.background.append(reminders.run)
    rt.background.append(lambda: close_idle_conversations(rt))
    rt.background.append(lambda: replay_unfinished_events(rt))
    if (wal := sqlite_file(settings.database.url)) is not None:
        rt.background.append(lambda: checkpoint_wal(wal))
    rt.replica_surfaces.add(hub)
    notifier.add(rt.replica_surfaces)
    if settings.redis.url:
        rt.event_bus = bus = RedisEventBus(
            settings.redis.url, rt.replica_surfaces,
            event_channel(settings.redis.url, settings.institution.id))
        notifier.add(bus)
        rt.background.append(bus.run)
    return rt


async def close_idle_conversations(rt: Runtime, interval_s: float = 300.0) -> None:
    idle = timedelta(hours=rt.settings.conversations.idle_close_hours)
    outage = OutageLog(log, "closing idle conversations")
    while True:
        try:
            now = rt.clock()
            closed = await rt.store.close_idle(now - idle, now)
            if closed:
                log.info("closed %s idle bot conversations", closed)
            outage.succeeded()
        except Exception as exc:  # the database may be briefly unavailable; try again later
            outage.failed(exc)
        await asyncio.sleep(interval_s)


# An event still unfinished this long after it arrived was cut off by a stop or a crash.
REPLAY_AFTER = timedelta(minutes=2)


async def replay_unfinished(rt: Runtime) -> int:
    """Process again the raw events kept but never finished; returns how many were replayed."""
    now, replayed = rt.clock(), 0
    for channel in rt.channels:
        for raw in await rt.context.inbound.unfinished(channel.channel, now - REPLAY_AFTER,
                                                       now, 100):
            try:
                await channel.replay(raw)
                replayed += 1
            except Exception:  # one bad body must not stop the others
                log.exception("replaying a %s event failed", channel.channel)
    await rt.context.inbound.flush()
    return replayed


async def replay_unfinished_events(rt: Runtime, interval_s: float = 60.0) -> None:
    outage = OutageLog(log, "replaying unfinished events")
    while True:
        try:
            if replayed := await replay_unfinished(rt):
                log.warning("replayed %s events left unfinished by an earlier stop", replayed)
            outage.succeeded()
        except Exception as exc:
            outage.failed(exc)
        await asyncio.sleep(interval_s)


def sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


async def checkpoint_wal(path: str, interval_s: float = 10.0) -> None:
    """Moves SQLite's WAL into the database file in a worker thread, off the event loop.

    The inline driver turns automatic checkpoints off (storage/sqlite_inline.py): they would
    write and fsync the database file inside a commit on the loop's thread.
    """
    outage = OutageLog(log, "SQLite checkpoint")
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(checkpoint, path)
            outage.succeeded()
        except Exception as exc:  # a busy or missing file: the next round tries again
            outage.failed(exc)


def build_crisis_rules(settings: Settings) -> CrisisDetector:
    try:
        return load_crisis_rules(settings.crisis.rules_path)
    except CrisisRulesError as exc:
        raise SettingsError(f"crisis.rules_path is not usable: {exc}") from None


def build_directory(settings: Settings) -> QueueDirectory:
    return build_queue_directory(settings.calendar, settings.queues, settings.default_queue,
                                 settings.crisis.urgent_queue)


# At a stop, how long sends already under way may take to finish (a platform answers in well
# under a second; the Telegram intake's own drain, bots/telegram/plugin.py, allows as long).
# A send cut off past it keeps its lease: sent again after it, at most once more.
OUTBOX_STOP_GRACE_S = 10.0


@contextlib.asynccontextmanager
async def running(rt: Runtime, grace_s: float = OUTBOX_STOP_GRACE_S) -> AsyncIterator[Runtime]:
    """Runs the outbox worker and every registered background job until the block ends."""
    outbox = asyncio.create_task(rt.worker.run(), name="outbox")
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job"))
             for job in rt.background]
    tasks += [asyncio.create_task(ch.run(), name=ch.channel) for ch in rt.channels]
    try:
        yield rt
    finally:
        # Not cancelled: a send cut off mid-request may have reached the client, and its
        # lease then made the next worker send it again a minute later, holding back the
        # chat's newer replies behind it (acceptance, SIGTERM of one of two replicas).
        rt.worker.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _stop_outbox(outbox, grace_s)
        await _release_unsent(rt)
        for channel in rt.channels:
            await channel.close()
        await _release_unsent(rt)  # replies to the updates the channels finished last
        await rt.context.inbound.flush()  # the statuses of the events processed last
        if rt.event_bus is not None:
            await rt.event_bus.close()
        await rt.engine.dispose()


async def _stop_outbox(outbox: asyncio.Task[None], grace_s: float) -> None:
    _, pending = await asyncio.wait({outbox}, timeout=grace_s)
    if pending:
        log.warning("outbox sends still under way %s s into the stop were cut off", grace_s)
        outbox.cancel()
    await asyncio.gather(outbox, return_exceptions=True)


async def _release_unsent(rt: Runtime) -> None:
    try:
        await rt.worker.release_unsent()
    except Exception:  # the database gone first: their lease runs out instead
        log.exception("could not give unsent replies back to the outbox")
