"""In-memory fakes of the core's ports, for tests without network or database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from faq.model import (
    Candidate,
    Category,
    Decision,
    Entry,
    KnowledgeBase,
    Link,
    MatchResult,
    SmallTalk,
)
from handlers.delivery_ports import Delivery
from handlers.event_ports import ConversationEvent
from handlers.model import (
    ALL_BUTTONS,
    Attachment,
    Author,
    Button,
    Channel,
    ClientRef,
    ConversationRef,
    IncomingMessage,
    LastAnswer,
    Recorded,
    Reply,
    State,
)
from handlers.pii import as_kept, mask
from handlers.ports import Annotation, Escalation, HistoryItem, Holder

KB = KnowledgeBase(
    categories=(Category("family", "Семьи с детьми", "family"),
                Category("housing", "Субсидии ЖКУ", "housing")),
    entries=(
        Entry("family.allowance", "family", "Как оформить единое пособие?",
              "Единое пособие оформляют через Госуслуги или МФЦ.",
              links=(Link("Госуслуги", "https://www.gosuslugi.ru/"),)),
        Entry("family.capital", "family", "Как получить областной материнский капитал?",
              "Заявление подают в управление социальной политики."),
        Entry("housing.subsidy", "housing", "Как получить субсидию на ЖКУ?",
              "Субсидию назначают, если расходы на ЖКУ выше 22% дохода."),
    ),
    institution="Тестовый центр",
)


class FakeFaq:
    """Answers on an exact question, clarifies on a shared word, greets on 'здравствуйте'."""

    kb = KB

    def match(self, text: str) -> MatchResult:
        low = text.lower().strip(" ?!.")
        for e in KB.entries:
            if low == e.question.lower().strip(" ?"):
                return MatchResult(Decision.ANSWER, (Candidate(e.id, 1.0),))
        if low in ("здравствуйте", "спасибо"):
            kind = SmallTalk.GREETING if low == "здравствуйте" else SmallTalk.THANKS
            return MatchResult(Decision.SMALLTALK, (), kind)
        hits = [Candidate(e.id, 0.5) for e in KB.entries if any(
            w in e.question.lower() for w in low.split() if len(w) > 4)]
        if len(hits) >= 2:
            return MatchResult(Decision.CLARIFY, tuple(hits[:3]))
        return MatchResult(Decision.NO_MATCH, tuple(hits))


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class _Msg:
    id: int
    conversation_id: int
    client_id: int
    author: Author
    text: str
    internal: bool = False
    decision: str = ""
    entry_id: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attachments: tuple[Attachment, ...] = ()
    channel_message_id: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()


class FakeStore:
    """The ConversationStore contract in memory (the SQL store is tested separately)."""

    def __init__(self) -> None:
        self.clients: dict[int, ClientRef] = {}
        self.conversations: dict[int, ConversationRef] = {}
        self.messages: list[_Msg] = []
        self.outbox: list[tuple[ClientRef, Reply]] = []
        self.keys: set[str] = set()
        self.escalations: dict[int, Escalation] = {}
        self.ratings: dict[int, int] = {}
        self.erased: set[int] = set()
        self.blocked: set[str] = set()
        self.transferred_by: dict[int, int | None] = {}

    def _client(self, msg: IncomingMessage) -> ClientRef:
        for c in self.clients.values():
            if c.channel == msg.channel and c.user_id == msg.user_id:
                if msg.app is not None and msg.app != c.app:
                    c = self.clients[c.id] = replace(c, app=msg.app)
                return c
        c = ClientRef(len(self.clients) + 1, msg.channel, msg.user_id, msg.display_name, None,
                      msg.app or ALL_BUTTONS)
        self.clients[c.id] = c
        return c

    async def record_incoming(
        self, msg: IncomingMessage, now: datetime, open_new: bool = True
    ) -> Recorded | None:
        key = f"{msg.channel}:{msg.event_id}"
        if key in self.keys:
            return None
        self.keys.add(key)
        client = self._client(msg)
        convs = [c for c in self.conversations.values() if c.client_id == client.id]
        conv = convs[-1] if convs else None
        if conv is None or (conv.state is State.CLOSED and open_new):
            conv = ConversationRef(len(self.conversations) + 1, client.id, client.channel,
                                   State.BOT, "", "")
            self.conversations[conv.id] = conv
        conv = replace(conv, last_answer=self._last_answer(conv.id))
        m = _Msg(len(self.messages) + 1, conv.id, client.id, Author.CLIENT,
                 as_kept(msg.text, client.declined), at=now,
                 attachments=msg.attachments, channel_message_id=msg.channel_message_id)
        self.messages.append(m)
        # As the SQL store: the reference carries the name the channel gave now.
        return Recorded(m.id, replace(client, display_name=msg.display_name
                                      or client.display_name), conv)

    def _last_answer(self, conversation_id: int) -> LastAnswer | None:
        shown = [m for m in self.messages if m.conversation_id == conversation_id
                 and not m.internal]
        last = shown[-1] if shown else None
        if last is None or last.author is not Author.BOT or not last.entry_id:
            return None
        return LastAnswer(last.entry_id, last.at)

    async def annotate(self, message_id: int, match: MatchResult | None, category: str) -> None:
        m = self.messages[message_id - 1]
        if match is not None:
            m.decision = match.decision
            m.entry_id = match.best.entry_id if match.best else ""
        conv = self.conversations[m.conversation_id]
        if category and conv.state is not State.CLOSED and conv.id not in self.escalations:
            self.conversations[conv.id] = replace(conv, category=category)

    async def escalate(self, conversation_id: int, esc: Escalation, now: datetime) -> bool:
        conv = self.conversations[conversation_id]
        if conv.state is not State.BOT and not (esc.urgent and not conv.urgent
                                                and conv.state is not State.CLOSED):
            return False
        state = State.WAITING if conv.state is State.BOT else conv.state
        self.conversations[conversation_id] = replace(conv, state=state, queue=esc.queue,
                                                      urgent=esc.urgent, awaiting_consent=False)
        self.escalations[conversation_id] = esc
        return True

    async def close(self, conversation_id: int, now: datetime, by: Author,
                    expected: Holder | None = None) -> bool:
        conv = self.conversations[conversation_id]
        if conv.state is State.CLOSED or not held_as(conv, expected):
            return False
        self.conversations[conversation_id] = replace(conv, state=State.CLOSED)
        return True

    async def rate(self, conversation_id: int, rating: int, now: datetime) -> bool:
        if conversation_id in self.ratings:
            return False
        self.ratings[conversation_id] = rating
        return True

    async def last_closed(self, client_id: int) -> ConversationRef | None:
        closed = [c for c in self.conversations.values()
                  if c.client_id == client_id and c.state is State.CLOSED]
        return closed[-1] if closed else None

    async def await_consent(self, conversation_id: int) -> None:
        conv = self.conversations[conversation_id]
        if conv.state is State.BOT:
            self.conversations[conversation_id] = replace(conv, awaiting_consent=True)

    async def set_consent(self, client_id: int, now: datetime, display_name: str = "") -> None:
        client = self.clients[client_id]
        self.clients[client_id] = replace(client, consent_at=now, declined=False,
                                          display_name=display_name or client.display_name)

    async def decline_consent(self, conversation_id: int) -> None:
        conv = self.conversations[conversation_id]
        self.conversations[conversation_id] = replace(conv, awaiting_consent=False)
        client = self.clients[conv.client_id]
        if client.consent_at is None:
            self.clients[client.id] = replace(client, display_name="", declined=True)
        for m in self.messages:
            if m.conversation_id == conversation_id and m.author is Author.CLIENT:
                m.text = mask(m.text, names=True)

    async def erase_client(self, client_id: int, now: datetime, by: str = "client") -> list[int]:
        self.erased.add(client_id)
        for m in self.messages:
            if m.client_id == client_id:
                m.text = ""
        for c in list(self.conversations.values()):
            if c.client_id == client_id and c.state is not State.CLOSED:
                self.conversations[c.id] = replace(c, state=State.CLOSED)
        return sorted(c.id for c in self.conversations.values() if c.client_id == client_id)

    async def enqueue(
        self, conv: ConversationRef, client: ClientRef, replies: Sequence[Reply],
        author: Author, now: datetime, specialist_id: int | None = None,
        annotation: Annotation | None = None,
    ) -> list[int]:
        if annotation is not None:
            await self.annotate(annotation.message_id, annotation.match, annotation.category)
        ids = []
        for r in replies:
            m = _Msg(len(self.messages) + 1, conv.id, client.id, author, r.text, at=now,
                     buttons=r.buttons, entry_id=r.faq_entry_id)
            self.messages.append(m)
            self.outbox.append((client, r))
            ids.append(m.id)
        return ids

    async def history(self, conversation_id: int, limit: int = 50) -> list[HistoryItem]:
        return [HistoryItem(m.id, m.author, m.text, m.at, m.internal, m.attachments)
                for m in self.messages
                if m.conversation_id == conversation_id][-limit:]

    async def get(self, conversation_id: int) -> tuple[ConversationRef, ClientRef] | None:
        conv = self.conversations.get(conversation_id)
        return (conv, self.clients[conv.client_id]) if conv else None

    async def last_offer(self, channel: Channel, user_id: str) -> tuple[tuple[Button, ...], ...]:
        ids = {c.id for c in self.clients.values()
               if c.channel == channel and c.user_id == user_id}
        mine = [m for m in self.messages if m.client_id in ids and not m.internal]
        return mine[-1].buttons if mine and mine[-1].author is Author.BOT else ()

    async def open_conversation_of(
        self, channel: Channel, user_id: str
    ) -> ConversationRef | None:
        client = next((c for c in self.clients.values()
                       if c.channel == channel and c.user_id == user_id), None)
        found = [c for c in self.conversations.values() if client is not None
                 and c.client_id == client.id and c.state is not State.CLOSED]
        return found[-1] if found else None

    async def recent_incoming_ids(
        self, channel: Channel, user_id: str, limit: int
    ) -> list[str]:
        ids = {c.id for c in self.clients.values()
               if c.channel == channel and c.user_id == user_id}
        found = [m.channel_message_id for m in reversed(self.messages)
                 if m.client_id in ids and m.author is Author.CLIENT]
        return found[:limit]

    async def set_blocked(
        self, channel: Channel, user_id: str, blocked: bool, now: datetime
    ) -> None:
        key = f"{channel}:{user_id}"
        if blocked:
            self.blocked.add(key)
        else:
            self.blocked.discard(key)

    async def record_specialist_message(
        self, conversation_id: int, specialist_id: int | None, text: str, internal: bool,
        now: datetime, dedupe_key: str | None = None, deliver: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> int | None:
        if dedupe_key is not None:
            if dedupe_key in self.keys:
                return None
            self.keys.add(dedupe_key)
        conv = self.conversations[conversation_id]
        client = self.clients[conv.client_id]
        if not internal and deliver and await self.transferred_away(conv.id, specialist_id):
            return None
        m = _Msg(len(self.messages) + 1, conv.id, client.id, Author.SPECIALIST, text,
                 internal=internal, at=now, attachments=attachments)
        self.messages.append(m)
        if not internal:
            if conv.state is State.CLOSED:
                return None
            self.conversations[conv.id] = replace(
                conv, state=State.WITH_SPECIALIST, assigned_to=conv.assigned_to or specialist_id,
                answered=True)
            if deliver:
                self.outbox.append((client, Reply(text, attachments=attachments)))
        return m.id

    async def assign(
        self, conversation_id: int, specialist_id: int | None, only_if_free: bool
    ) -> bool:
        conv = self.conversations[conversation_id]
        if conv.state is State.CLOSED or (only_if_free and conv.assigned_to is not None):
            return False
        state = State.WAITING if specialist_id is None and conv.state is State.WITH_SPECIALIST \
            else conv.state
        self.conversations[conversation_id] = replace(conv, assigned_to=specialist_id,
                                                      state=state)
        return True

    async def transfer(
        self, conversation_id: int, queue: str, specialist_id: int | None, now: datetime,
        expected: Holder | None = None,
    ) -> bool:
        conv = self.conversations[conversation_id]
        if conv.state not in (State.WAITING, State.WITH_SPECIALIST) or conv.queue == queue \
                or not held_as(conv, expected):
            return False
        self.conversations[conversation_id] = replace(conv, queue=queue, assigned_to=None,
                                                      state=State.WAITING)
        self.transferred_by[conversation_id] = specialist_id
        return True

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        conv = self.conversations[conversation_id]
        return (specialist_id is not None and conv.assigned_to is None
                and conv.state is State.WAITING
                and self.transferred_by.get(conversation_id) == specialist_id)


class RecordingHandoff:
    """Stands in for the outbox worker as the store sees it: records what it is handed."""

    channels: tuple[str, ...] = ("web", "telegram", "vk")

    def __init__(self) -> None:
        self.handed: list[Delivery] = []
        self.waiting: set[tuple[str, str]] = set()

    def hand(self, deliveries: Sequence[Delivery],
             waiting: Collection[tuple[str, str]] = ()) -> None:
        self.handed.extend(deliveries)
        self.waiting.update(waiting)


class FakeNotifier:
    def __init__(self) -> None:
        self.events: list[ConversationEvent] = []

    async def publish(self, event: ConversationEvent) -> None:
        self.events.append(event)


class FakeRedisServer:
    """127.0.0.1 TCP: "silent" accepts and never answers (packets dropped on the way), "refuse"
    accepts and closes at once, "forward" passes everything to a real Redis."""

    def __init__(self, mode: str, target: tuple[str, int] | None = None) -> None:
        self.mode, self.target, self.accepted = mode, target, 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://:secret-pw@127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> FakeRedisServer:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.drop_all()

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        if self.mode == "refuse":
            writer.close()
        elif self.mode == "forward" and self.target is not None:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.append(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer),
                                 return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


# What a synonyms file with an unclosed «[» («groups:\n  - [ЕГВ, губеровские») is told.
NEW_SYN_REASON = (
    "line 2 «- [ЕГВ, губеровские»: a list in square brackets («[…]») opened here is not "
    "closed with «]», or a text in it has a comma or colon: put such a text in quotes (YAML: "
    "line 3, column 1: expected ',' or ']', but got '<stream end>' (while parsing a flow "
    "sequence from line 2))")


_R = TypeVar("_R")


async def with_sqlite_plans(sessions: Any, run: Callable[[Any], Awaitable[_R]], table: str
                            ) -> tuple[_R, list[list[str]] | None]:
    """`run(conn)` in a core transaction, with SQLite's query plan of each statement it sent
    that names `table` (None on another database: the same statements serve PostgreSQL)."""
    from sqlalchemy import event

    from storage.engine import core_transaction

    engine = sessions.kw["bind"]
    asked: list[tuple[str, object]] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, parameters: object,
                     _context: Any, _many: bool) -> None:
        asked.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", on_statement)
    try:
        async with core_transaction(sessions) as conn:
            result = await run(conn)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_statement)
    if engine.dialect.name != "sqlite":
        return result, None
    plans = []
    async with core_transaction(sessions) as conn:
        for statement, parameters in asked:
            if table in statement:
                rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append([row[3] for row in rows.all()])
    return result, plans


def held_as(conv: ConversationRef, expected: Holder | None) -> bool:
    return expected is None or (conv.queue, conv.assigned_to) == (expected.queue,
                                                                  expected.assigned_to)
