"""Speed of the analytics: masking, the metrics of a busy month, gap clustering, charts.

Run: .venv/bin/python -m bench.analytics
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.charts import build_charts
from analytics.gaps import GapMessage, cluster
from analytics.metrics import compute
from analytics.records import ConversationRecord, Dataset, Filters, MessageRecord, Period
from handlers.pii import mask
from priemnaya.settings import default_queues
from priemnaya.settings_work import CalendarSettings, build_queue_directory

TZ = ZoneInfo("Asia/Yekaterinburg")
TEXTS = (
    "Здравствуйте, как оформить единое пособие на ребёнка?",
    "Мой СНИЛС 112-233-445 95, телефон +7 912 345-67-89, когда придёт выплата?",
    "Где получить справку о составе семьи для субсидии на ЖКУ",
    "Компенсация за газ пенсионеру {n} положена?",
    "Карта 4111 1111 1111 1111 не принимает выплату, что делать",
)


def timed(name: str, n: int, unit: str, fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    spent = time.perf_counter() - start
    print(f"{name}: {n} {unit} in {spent * 1000:.0f} ms ({n / spent:,.0f} {unit}/s)")


def month_of(n: int, rnd: random.Random) -> Dataset:
    start = datetime(2026, 11, 1, tzinfo=TZ)
    convs = []
    for i in range(n):
        opened = start + timedelta(minutes=rnd.randrange(30 * 24 * 60))
        escalated = opened + timedelta(minutes=5) if rnd.random() < 0.3 else None
        reply = escalated + timedelta(minutes=rnd.randrange(10, 4000)) if escalated else None
        closed = (reply or opened) + timedelta(minutes=30) if rnd.random() < 0.7 else None
        messages = tuple(MessageRecord(i, "client", opened + timedelta(minutes=k),
                                       rnd.choice(("answer", "clarify", "no_match")), "e1")
                         for k in range(3))
        convs.append(ConversationRecord(
            i, rnd.randrange(n // 2), "web", "family", "general", "closed", False, opened,
            opened + timedelta(minutes=3), escalated, reply, closed,
            rnd.choice((None, 4, 5)), 1 if reply else None, opened, messages))
    period = Period(date(2026, 11, 1), date(2026, 11, 30), TZ)
    return Dataset(period, Filters(), tuple(convs), {1: "A"}, {}, datetime(2026, 12, 1, tzinfo=TZ))


def main() -> None:
    rnd = random.Random(1)
    texts = [rnd.choice(TEXTS).format(n=i) for i in range(20_000)]
    timed("mask", len(texts), "messages", lambda: [mask(t) for t in texts])
    queues = build_queue_directory(CalendarSettings(timezone=TZ.key), default_queues(),
                                   "general", "urgent")
    data = month_of(10_000, rnd)
    report = compute(data, queues)  # warms the calendar's caches
    timed("compute (month)", 10_000, "conversations", lambda: compute(data, queues))
    timed("charts", 4, "charts", lambda: [c.svg() for c in build_charts(report)])
    words = ["пособие", "справка", "семья", "газ", "субсидия", "капитал", "пенсия", "льгота",
             "проезд", "инвалидность", "уход", "ребёнок", "путёвка", "санаторий", "выплата"]
    gaps = [GapMessage(" ".join(rnd.sample(words, 3)) + f" {rnd.randrange(50)}", "no_match")
            for _ in range(5_000)]
    timed("gap clustering", len(gaps), "messages", lambda: cluster(gaps))


if __name__ == "__main__":
    main()
