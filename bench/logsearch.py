"""Speed of one interaction-log search (word forms, ё folded) over 10,000 conversations.

Run: PYTHONPATH=. .venv/bin/python -m bench.logsearch [DATABASE_URL]
Without a URL it uses a fresh SQLite file; a PostgreSQL URL must name an empty database.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.logbook import LogQuery, search
from analytics.records import Filters, Period
from bench.analytics import TEXTS as ANALYTICS_TEXTS
from storage.engine import build_engine, build_sessions
from storage.migrate import upgrade_async
from storage.models import Client, Conversation, Message

TZ = ZoneInfo("Asia/Yekaterinburg")
CONVERSATIONS = 10_000
# The analytics bench's texts, with a name and words of another topic.
TEXTS = (
    *ANALYTICS_TEXTS,
    "Меня зовут Мария Петровна, нужна путёвка в санаторий",
    "Отключили отопление в доме {n}",
)


async def fill(url: str) -> None:
    await upgrade_async(url)
    engine = build_engine(url)
    sessions = build_sessions(engine)
    rnd, start = random.Random(1), datetime(2026, 11, 1, tzinfo=TZ)
    async with sessions.begin() as s:
        client = Client(channel="web", user_id="bench", created_at=start, last_seen_at=start)
        s.add(client)
        await s.flush()
        for i in range(CONVERSATIONS):
            at = start + timedelta(minutes=rnd.randrange(29 * 24 * 60))
            conv = Conversation(client_id=client.id, channel="web", state="closed",
                                opened_at=at, last_activity_at=at)
            s.add(conv)
            await s.flush()
            for k, author in enumerate(("client", "bot", "client")):
                text = rnd.choice(TEXTS).format(n=i)
                s.add(Message(conversation_id=conv.id, client_id=client.id,
                              direction="in" if author == "client" else "out", author=author,
                              channel="web", text=text, text_length=len(text),
                              created_at=at + timedelta(minutes=k)))
    await engine.dispose()


async def timed_search(url: str, text: str) -> None:
    engine = build_engine(url)
    sessions = build_sessions(engine)
    period = Period(date(2026, 11, 1), date(2026, 11, 30), TZ)
    await search(sessions, LogQuery(period, Filters(), text="справка"))  # warms morphology
    started = time.perf_counter()
    page = await search(sessions, LogQuery(period, Filters(), text=text))
    spent = time.perf_counter() - started
    print(f"{engine.dialect.name} «{text}»: {page.total} of {CONVERSATIONS} conversations "
          f"in {spent * 1000:.0f} ms")
    await engine.dispose()


async def main(url: str) -> None:
    await fill(url)
    for text in ("пособия", "ребенок", "путевки санаторий", "отопление"):
        await timed_search(url, text)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(f"sqlite+aiosqlite:///{tmp}/bench.db"))
