"""A deterministic interaction log with hand-computed true figures (see EXPECTED below).

Times are local (Asia/Yekaterinburg, UTC+5). November 2026: Tue 3rd is shortened before the
holiday (08:30-16:30), Wed 4th is a holiday, 7th-8th a weekend. Default hours Mon-Thu
08:30-17:30, Fri 08:30-16:15; queue "general" targets 9 working hours, an urgent conversation
in queue "urgent" 1 (settings.yaml's defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Client, Conversation, Message, Specialist

TZ = ZoneInfo("Asia/Yekaterinburg")


def t(stamp: str) -> datetime:
    """Local "MM-DD HH:MM" in 2026, or a full ISO date-time."""
    if len(stamp) == 11:
        stamp = f"2026-{stamp}"
    return datetime.fromisoformat(stamp).replace(tzinfo=TZ)


@dataclass(frozen=True, slots=True)
class M:
    at: str
    author: str
    text: str = ""
    decision: str = ""
    entry: str = ""
    specialist: int | None = None
    internal: bool = False
    asks_rating: bool = False  # with the 1–5 buttons, as the bot asks for a rating


@dataclass(frozen=True, slots=True)
class C:
    key: str
    client: str
    channel: str
    opened: str
    messages: tuple[M, ...]
    category: str = ""
    queue: str = ""
    urgent: bool = False
    escalated: str | None = None
    first_reply: str | None = None
    closed: str | None = None
    rating: int | None = None
    assigned: int | None = None


CLIENTS = {"A": "11-02 09:00", "B": "11-02 11:00", "C": "2026-10-01 12:00",
           "D": "11-03 16:00", "E": "11-11 10:00", "F": "2026-10-31 12:00"}
SPECIALISTS = {1: "Иванова", 2: "Петров"}

LOG = (
    C("c1", "A", "web", "11-02 10:00", category="benefits", closed="11-02 10:05", rating=5,
      messages=(M("11-02 10:00", "client", "Как оформить единое пособие?", "answer", "e1"),
                M("11-02 10:00", "bot", "Единое пособие оформляют…", entry="e1"),
                M("11-02 10:05", "client"),
                M("11-02 10:05", "bot", "Оцените", asks_rating=True))),
    C("c2", "B", "telegram", "11-02 11:00", category="benefits",
      messages=(M("11-02 11:00", "client", "пособие на ребенка", "clarify"),
                M("11-02 11:00", "bot", "Уточните"),
                M("11-02 11:01", "client", "", "answer", "e1"),
                M("11-02 11:01", "bot", "Единое пособие…", entry="e1"))),
    # Rated with no rating request on record (an older row): counts as asked.
    C("c3", "C", "vk", "11-06 15:00", queue="general", escalated="11-06 15:05",
      first_reply="11-09 09:30", closed="11-09 10:00", rating=4, assigned=1,
      messages=(M("11-06 15:00", "client", "Где получить справку о составе семьи? "
                  "Мой телефон +7 912 345-67-89", "no_match"),
                M("11-06 15:00", "bot", "Не нашёл ответа"),
                M("11-06 15:05", "client"), M("11-06 15:05", "bot", "Передано"),
                M("11-09 09:30", "specialist", "Справку выдаёт МФЦ, наш телефон 8 (343) 371-00-00",
                  specialist=1),
                M("11-09 09:35", "specialist", "заметка", specialist=1, internal=True),
                M("11-09 09:50", "client", "Спасибо, Ирина Сергеевна"))),
    C("c4", "D", "web", "11-03 16:00", queue="general", escalated="11-03 16:00",
      first_reply="11-05 09:00", assigned=2,
      messages=(M("11-03 16:00", "client", "Справка о составе семьи где взять", "no_match"),
                M("11-03 16:00", "bot", "Передано"),
                M("11-05 09:00", "specialist", "В МФЦ", specialist=2))),
    C("c5", "A", "web", "11-10 09:00", category="housing", queue="urgent", urgent=True,
      escalated="11-10 09:00", first_reply="11-10 14:00", closed="11-10 14:30", assigned=1,
      messages=(M("11-10 09:00", "client", "Отключили отопление", "answer", "e2"),
                M("11-10 14:00", "specialist", "Звоним в УК", specialist=1),
                M("11-10 14:30", "bot", "Специалист завершил. Оцените", asks_rating=True))),
    C("c6", "E", "telegram", "11-11 10:00", queue="general", escalated="11-11 10:00",
      messages=(M("11-11 10:00", "client", "Компенсация за газ пенсионеру", "clarify"),
                M("11-11 10:00", "bot", "Уточните"))),
    # Outside November: must not count.
    C("c7", "F", "web", "10-31 23:50", messages=(M("10-31 23:50", "client", "x", "no_match"),)),
    C("c8", "F", "web", "12-01 00:30", messages=(M("12-01 00:30", "client", "y", "no_match"),)),
)

AS_OF = t("12-01 12:00")


async def write_log(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Writes the log; returns conversation ids by key."""
    async with sessions.begin() as s:
        staff = {}
        for key, name in SPECIALISTS.items():
            staff[key] = Specialist(login=f"gen{key}", display_name=name,
                                    created_at=t("2026-01-01 00:00"))
            s.add(staff[key])
        clients = {}
        for key, created in CLIENTS.items():
            client = Client(channel="web", user_id=f"user-{key}", display_name=f"Клиент {key}",
                            created_at=t(created), last_seen_at=t(created))
            s.add(client)
            clients[key] = client
        await s.flush()
        ids = {k: v.id for k, v in staff.items()}
        return {c.key: await _conversation(s, c, clients[c.client].id, ids) for c in LOG}


async def _conversation(s: AsyncSession, c: C, client_id: int, staff: dict[int, int]) -> int:
    last = max(t(m.at) for m in c.messages)
    conv = Conversation(
        client_id=client_id, channel=c.channel, category=c.category, queue=c.queue,
        urgent=c.urgent, state="closed" if c.closed else ("bot" if not c.escalated else
                                                           "waiting_specialist"),
        opened_at=t(c.opened), last_activity_at=last,
        escalated_at=t(c.escalated) if c.escalated else None,
        first_specialist_reply_at=t(c.first_reply) if c.first_reply else None,
        closed_at=t(c.closed) if c.closed else None, rating=c.rating,
        assigned_to=staff[c.assigned] if c.assigned else None)
    s.add(conv)
    await s.flush()
    for m in c.messages:
        s.add(Message(conversation_id=conv.id, client_id=client_id,
                      direction="in" if m.author == "client" else "out", author=m.author,
                      specialist_id=staff[m.specialist] if m.specialist else None,
                      channel=c.channel, text=m.text,
                      text_length=len(m.text), decision=m.decision, faq_entry_id=m.entry,
                      internal=m.internal, created_at=t(m.at),
                      buttons=[[{"label": str(n), "action": f"rate:{n}"} for n in range(1, 6)]]
                      if m.asks_rating else []))
    return conv.id
