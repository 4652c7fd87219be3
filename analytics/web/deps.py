"""What the admin pages need, and parsing of their period and filter parameters."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.queries import filter_choices
from analytics.records import Filters, Period
from faq.live import ReloadFailure
from handlers.faq_ports import Faq
from handlers.pii import contacts_of
from handlers.routing import MemberWithoutAccount, QueueDirectory, UnroutedCategory
from handlers.texts import BrokenTemplate
from storage.replay_backoff import stuck_events
from storage.staff_posts import left_over

MAX_PERIOD_DAYS = 400
# Far years would overflow date arithmetic (9999-12-31 + 1 day) and mean nothing here.
MIN_YEAR, MAX_YEAR = 2000, 2100
_FILTER_CHARS = 64
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Without a valid start, the period is the 30 days up to its end.
DEFAULT_SPAN = timedelta(days=29)
_UNKNOWN = {"channel": "Неизвестный канал", "queue": "Неизвестная очередь",
            "category": "Неизвестная категория"}


def no_reload_failure() -> ReloadFailure | None:
    return None


def no_broken_templates() -> Sequence[BrokenTemplate]:
    return ()


def no_unrouted() -> Sequence[UnroutedCategory]:
    return ()


async def members_with_accounts() -> Sequence[MemberWithoutAccount]:
    return ()


@dataclass(frozen=True, slots=True)
class AdminDeps:
    sessions: async_sessionmaker[AsyncSession]
    queues: QueueDirectory
    tz: ZoneInfo
    clock: Callable[[], datetime]
    erase_client: Callable[[int, datetime], Awaitable[None]]
    institution: str = "default"
    faq: Faq | None = None  # read on every request: the knowledge base reloads while running
    # Edited files that did not load: every admin page says so, or nobody would notice.
    kb_failure: Callable[[], ReloadFailure | None] = no_reload_failure
    # Client-text overrides that fail: clients get the default texts until they are fixed.
    broken_templates: Callable[[], Sequence[BrokenTemplate]] = no_broken_templates
    # Categories whose queue the settings lack: their hand-overs go to the default queue.
    unrouted: Callable[[], Sequence[UnroutedCategory]] = no_unrouted
    # Queue members the settings list without an active account: read on every page, as
    # accounts are made and disabled while running.
    without_account: Callable[[], Awaitable[Sequence[MemberWithoutAccount]]] = \
        members_with_accounts

    async def banners(self) -> dict[str, object]:
        """What every admin page warns of: files edited while running that are not in use,
        posts about erased clients the bot could not delete in the staff group, and client
        messages that keep failing to be processed."""
        return {"kb_failure": self.kb_failure(), "broken_templates": self.broken_templates(),
                "unrouted": self.unrouted(), "without_account": await self.without_account(),
                "staff_left_over": await left_over(self.sessions, self.institution),
                "stuck_events": await stuck_events(self.sessions)}

    def categories(self) -> dict[str, str]:
        return {c.id: c.title for c in self.faq.kb.categories} if self.faq else {}

    def public_contacts(self) -> frozenset[str]:
        """The phones and e-mails the knowledge base's answers give: the institution's own."""
        return contacts_of(self.faq.kb) if self.faq else frozenset()

    def entries(self) -> dict[str, str]:
        return {e.id: e.question for e in self.faq.kb.entries} if self.faq else {}


ADMIN = web.AppKey("admin", AdminDeps)


@dataclass(frozen=True, slots=True)
class Selection:
    """The period and filters of a page, with what was wrong in the request (if anything)."""

    period: Period
    filters: Filters
    errors: tuple[str, ...] = ()

    def query(self, **extra: str) -> str:
        params = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                  "channel": self.filters.channel, "queue": self.filters.queue,
                  "category": self.filters.category, **extra}
        return urlencode({k: v for k, v in params.items() if v})


def _date(text: str, name: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        errors.append(f"{name}: такой даты нет: {text[:10]}" if _ISO_DAY.fullmatch(text[:10])
                      else f"{name}: ожидалась дата ГГГГ-ММ-ДД, получено «{text[:20]}»")
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        errors.append(f"{name}: год должен быть от {MIN_YEAR} до {MAX_YEAR}")
        return None
    return day


def parse_selection(query: Mapping[str, str], tz: ZoneInfo, now: datetime) -> Selection:
    """Defaults to the current month up to today; a bad value is reported, never fatal."""
    today = now.astimezone(tz).date()
    errors: list[str] = []
    given_first = _date(query.get("from", ""), "Начало периода", errors)
    given_last = _date(query.get("to", ""), "Конец периода", errors)
    # A missing or bad bound is put next to the other one, never reported as a reversal.
    first = given_first or (given_last - DEFAULT_SPAN if given_last else today.replace(day=1))
    last = given_last or max(today, first)
    if last < first:
        errors.append("Конец периода раньше начала: показан один день начала.")
        last = first
    if (last - first).days >= MAX_PERIOD_DAYS:
        errors.append(f"Период длиннее {MAX_PERIOD_DAYS} дней сокращён.")
        last = first + timedelta(days=MAX_PERIOD_DAYS - 1)
    filters = Filters(*(query.get(k, "").strip()[:_FILTER_CHARS]
                        for k in ("channel", "queue", "category")))
    return Selection(Period(first, last, tz), filters, tuple(errors))


async def read_selection(request: web.Request) -> Selection:
    """The page's period and filters; a channel, queue or category the drop-downs do not
    offer is left out and said so, not applied to show «Обращений 0»."""
    deps = request.app[ADMIN]
    sel = parse_selection(request.query, deps.tz, deps.clock())
    choices = await filter_choices(deps.sessions, deps.institution)
    known = {"channel": set(choices.get("channel", [])),
             "queue": set(queue_choices(deps.queues, choices.get("queue", []))),
             "category": {*choices.get("category", []), *deps.categories()}}
    kept = {k: v for k, v in asdict(sel.filters).items() if not v or v in known[k]}
    notices = tuple(f"{_UNKNOWN[k]} «{v}»: фильтр не применён."
                    for k, v in asdict(sel.filters).items() if k not in kept)
    filters = Filters(**{k: kept.get(k, "") for k in _UNKNOWN})
    return Selection(sel.period, filters, sel.errors + notices)


async def page_context(request: web.Request, sel: Selection) -> dict[str, Any]:
    """What every page with the filter form shows: choices, titles and the time zone."""
    deps = request.app[ADMIN]
    choices = await filter_choices(deps.sessions, deps.institution)
    choices["queue"] = queue_choices(deps.queues, choices.get("queue", []))
    return {"sel": sel, "choices": choices,
            "categories": deps.categories(), "entries": deps.entries(), "tz": deps.tz,
            "queue_titles": deps.queues.titles(), **(await deps.banners())}


def queue_choices(queues: QueueDirectory, seen: list[str]) -> list[str]:
    """Every configured queue, in the settings' order, even one with no conversations yet;
    then queues the data still names that are no longer configured."""
    configured = list(queues.titles())
    return configured + [q for q in seen if q not in configured]
