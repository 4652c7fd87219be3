"""Every dashboard figure computed from plain records, exactly as docs/metrics.md defines it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analytics.records import ConversationRecord, Dataset, MessageRecord
from analytics.stats import Durations, Ratio, median, to_minutes
from handlers.routing import Queue, QueueDirectory

# A conversation the bot answered and nobody touched for a day is over, even if never closed.
IDLE_AFTER = timedelta(hours=24)
TOP_N = 10
MATCHED = frozenset({"answer", "clarify", "no_match", "smalltalk"})


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-conversation times; working minutes follow the calendar of the conversation's queue."""

    first_response: float | None
    first_response_working: float | None
    resolution: float | None
    resolution_working: float | None
    within_target: bool | None  # None: not escalated, or not answered and not yet due


@dataclass(frozen=True, slots=True)
class SpecialistLoad:
    specialist_id: int
    name: str
    conversations: int  # handled: they replied in it (ConversationRecord.repliers)
    closed: int  # of those, closed
    replies: int
    first_response_working_median: float | None
    holding: int = 0  # open ones assigned to them now, replied in or not


@dataclass(frozen=True, slots=True)
class DailyRow:
    day: date
    conversations: int
    client_messages: int
    escalated: int
    resolved_by_faq: int


@dataclass(frozen=True, slots=True)
class Ratings:
    average: float | None
    distribution: tuple[int, int, int, int, int]  # how many 1, 2, 3, 4, 5
    response: Ratio  # rated / closed conversations asked for a rating (or rated unasked)


@dataclass(frozen=True, slots=True)
class Report:
    conversations: int
    client_messages: int
    outgoing_messages: int
    clients: Ratio  # part: new clients, whole: unique clients
    resolved_by_faq: Ratio
    clarify: Ratio
    no_match: Ratio
    escalated: Ratio
    first_response: Durations
    first_response_working: Durations
    awaiting_reply: int
    resolution: Durations
    resolution_working: Durations
    within_target: Ratio
    ratings: Ratings
    specialists: tuple[SpecialistLoad, ...]
    by_hour: tuple[int, ...]
    by_weekday: tuple[int, ...]
    top_entries: tuple[tuple[str, int], ...]
    top_categories: tuple[tuple[str, int], ...]
    daily: tuple[DailyRow, ...]
    timings: dict[int, Timing]

    @property
    def new_clients(self) -> int:
        return self.clients.part

    @property
    def returning_clients(self) -> int:
        return self.clients.whole - self.clients.part


def timing_of(c: ConversationRecord, queues: QueueDirectory, as_of: datetime) -> Timing:
    queue = queues.queue_for(c.queue)
    work = queue.calendar.working_between
    frt = frt_w = res = res_w = None
    within: bool | None = None
    if c.escalated_at is not None and c.first_reply_at is not None:
        frt = to_minutes(c.first_reply_at - c.escalated_at)
        frt_w = to_minutes(work(c.escalated_at, c.first_reply_at))
        within = in_time(c, queue, c.escalated_at, c.first_reply_at)
    elif c.escalated_at is not None:
        # Unanswered: late once the deadline passed while it was open; closed unanswered
        # before its deadline (the client gave up, or was erased), it is not judged at all.
        until = min(as_of, c.closed_at) if c.closed_at is not None else as_of
        if not in_time(c, queue, c.escalated_at, until):
            within = False
    if c.finished_at is not None:
        res = to_minutes(c.finished_at - c.opened_at)
        res_w = to_minutes(work(c.opened_at, c.finished_at))
    return Timing(frt, frt_w, res, res_w, within)


def in_time(c: ConversationRecord, queue: Queue, escalated_at: datetime, at: datetime) -> bool:
    """Whether `at` is within the deadline the hand-over was given: a target changed later
    must not rewrite past months. A row without one uses the queue's current target."""
    if c.due_at is not None:
        return at <= c.due_at
    return queue.calendar.working_between(escalated_at, at) <= queue.target(c.urgent)


def is_resolved_by_faq(c: ConversationRecord, as_of: datetime) -> bool:
    answered = any(m.author == "client" and m.decision == "answer" for m in c.messages)
    over = c.finished_at is not None or c.last_activity_at <= as_of - IDLE_AFTER
    return answered and c.escalated_at is None and over


def compute(data: Dataset, queues: QueueDirectory) -> Report:
    convs = data.conversations
    timings = {c.id: timing_of(c, queues, data.as_of) for c in convs}
    client_msgs = [m for c in convs for m in c.messages if m.author == "client"]
    matched = [m for m in client_msgs if m.decision in MATCHED]
    return Report(
        conversations=len(convs),
        client_messages=len(client_msgs),
        outgoing_messages=sum(1 for c in convs for m in c.messages
                              if m.author in ("bot", "specialist") and not m.internal),
        clients=_clients(convs, data),
        resolved_by_faq=Ratio(sum(is_resolved_by_faq(c, data.as_of) for c in convs), len(convs)),
        clarify=Ratio(sum(m.decision == "clarify" for m in matched), len(matched)),
        no_match=Ratio(sum(m.decision == "no_match" for m in matched), len(matched)),
        escalated=Ratio(sum(c.escalated_at is not None for c in convs), len(convs)),
        first_response=_durations(t.first_response for t in timings.values()),
        first_response_working=_durations(t.first_response_working for t in timings.values()),
        awaiting_reply=sum(c.escalated_at is not None and c.first_reply_at is None
                           and c.closed_at is None for c in convs),
        resolution=_durations(t.resolution for t in timings.values()),
        resolution_working=_durations(t.resolution_working for t in timings.values()),
        within_target=_within(timings.values()),
        ratings=_ratings(convs),
        specialists=_specialists(convs, timings, data.specialists),
        by_hour=_histogram((m.created_at.astimezone(data.period.tz).hour for m in client_msgs),
                           24),
        by_weekday=_histogram(
            (m.created_at.astimezone(data.period.tz).weekday() for m in client_msgs), 7),
        top_entries=_top(m.faq_entry_id for m in client_msgs
                         if m.decision == "answer" and m.faq_entry_id),
        top_categories=_top(c.category for c in convs if c.category),
        daily=_daily(data),
        timings=timings,
    )


def _durations(values: Iterable[float | None]) -> Durations:
    return Durations.of([v for v in values if v is not None])


def _within(timings: Iterable[Timing]) -> Ratio:
    judged = [t.within_target for t in timings if t.within_target is not None]
    return Ratio(sum(judged), len(judged))


def _clients(convs: tuple[ConversationRecord, ...], data: Dataset) -> Ratio:
    first_seen = {c.client_id: c.client_first_seen for c in convs}
    new = sum(1 for seen in first_seen.values()
              if seen is not None and data.period.start <= seen < data.period.end)
    return Ratio(new, len(first_seen))


def _ratings(convs: tuple[ConversationRecord, ...]) -> Ratings:
    closed = [c for c in convs if c.finished_at is not None]
    rated = [c.rating for c in closed if c.rating is not None and 1 <= c.rating <= 5]
    counts = Counter(rated)
    dist = (counts[1], counts[2], counts[3], counts[4], counts[5])
    average = round(sum(rated) / len(rated), 2) if rated else None
    # A question the client cancelled, a close by the idle rule: never asked, owe nothing.
    asked = sum(1 for c in closed if c.rating is not None or _asked_rating(c))
    return Ratings(average, dist, Ratio(len(rated), asked))


def _asked_rating(conv: ConversationRecord) -> bool:
    return any(m.asks_rating for m in conv.messages)


def _specialists(
    convs: tuple[ConversationRecord, ...], timings: dict[int, Timing], names: dict[int, str]
) -> tuple[SpecialistLoad, ...]:
    """Credited to whoever replied, not to the current holder: a release, a transfer or a
    disabled account leaves the assignee empty, never the month's work undone."""
    replies = Counter(m.specialist_id for c in convs for m in c.messages
                      if m.author == "specialist" and not m.internal and m.specialist_id)
    repliers = {c.id: c.repliers for c in convs}
    holding = Counter(c.assigned_to for c in convs if c.assigned_to and c.closed_at is None)
    loads = []
    for sid in sorted(set(replies) | set(holding)):
        mine = [c for c in convs if sid in repliers[c.id]]
        # A first response is credited to whoever wrote it: a colleague's quick reply is
        # not the assignee's speed.
        frts = [t for c in mine if repliers[c.id][0] == sid
                and (t := timings[c.id].first_response_working) is not None]
        loads.append(SpecialistLoad(
            sid, names.get(sid, f"#{sid}"), len(mine),
            sum(c.finished_at is not None for c in mine), replies[sid], median(frts),
            holding[sid]))
    return tuple(sorted(loads, key=lambda s: (-s.conversations, s.name)))


def _histogram(values: Iterable[int], size: int) -> tuple[int, ...]:
    counts = Counter(values)
    return tuple(counts[i] for i in range(size))


def _top(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    counted = Counter(values)
    return tuple(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N])


def _daily(data: Dataset) -> tuple[DailyRow, ...]:
    tz = data.period.tz
    by_day: dict[date, list[ConversationRecord]] = defaultdict(list)
    for c in data.conversations:
        by_day[c.opened_at.astimezone(tz).date()].append(c)
    rows = []
    for day in data.period.days():
        convs = by_day.get(day, [])
        rows.append(DailyRow(
            day, len(convs), sum(_client_count(c.messages) for c in convs),
            sum(c.escalated_at is not None for c in convs),
            sum(is_resolved_by_faq(c, data.as_of) for c in convs)))
    return tuple(rows)


def _client_count(messages: tuple[MessageRecord, ...]) -> int:
    return sum(1 for m in messages if m.author == "client")
