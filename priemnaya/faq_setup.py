"""Builds the hot-reloading FAQ engine from the settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from faq.last_good import LastGood
from faq.live import DuplicateEntry, LiveFaq
from faq.loader import KbError, Problem
from faq.matcher import MatcherConfig, NeuralUnavailable
from faq.model import Entry, KnowledgeBase
from handlers.faq_ports import EntryIdTaken, KnowledgeBaseBroken
from handlers.routing import UnroutedCategory
from priemnaya.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def matcher_config(settings: Settings) -> MatcherConfig:
    """The tuned defaults, with whichever thresholds the settings override."""
    overrides = {k: v for k, v in settings.faq.thresholds.model_dump().items() if v is not None}
    return replace(MatcherConfig(), **overrides)


def build_faq(settings: Settings) -> LiveFaq:
    try:
        return LiveFaq(settings.faq.paths, matcher_config(settings), settings.faq.synonyms,
                       neural=settings.faq.neural, neural_cache=settings.faq.neural_cache,
                       last_good=LastGood(settings.faq.last_good,
                                          [*settings.faq.paths, *settings.faq.synonyms]),
                       on_loaded=UnroutedWarnings(settings))
    except NeuralUnavailable as exc:
        raise SettingsError(str(exc)) from None
    except KbError as exc:
        raise SettingsError(unusable(settings, exc)) from None


def unusable(settings: Settings, exc: KbError) -> str:
    first = exc.problems[0] if exc.problems else exc
    synonyms = {str(p) for p in settings.faq.synonyms}
    key, check = ("faq.synonyms", "priemnaya settings") \
        if isinstance(first, Problem) and first.file in synonyms \
        else ("faq.paths", "priemnaya faq check")
    more = f" (and {len(exc.problems) - 1} more; run `{check}`)" if len(exc.problems) > 1 else ""
    return f"knowledge base {key} is not usable: {first}{more}"


class UnroutedWarnings:
    """Logs the categories whose queue the settings lack, at start-up and after each reload
    that changes them: a live edit would otherwise route hand-overs to the default queue
    without a word."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._shown: frozenset[UnroutedCategory] = frozenset()

    def __call__(self, kb: KnowledgeBase) -> None:
        found = unrouted_categories(self._settings, kb)
        for warning in found:
            if warning not in self._shown:
                log.warning("%s", warning)
        self._shown = frozenset(found)


def unrouted_categories(settings: Settings, kb: KnowledgeBase) -> list[UnroutedCategory]:
    """Categories whose queue settings.queues lacks: their hand-overs wait in default_queue."""
    titles = {q.id: q.title for q in settings.queues}
    default = settings.default_queue
    return [UnroutedCategory(c.id, c.title, c.queue, default, titles.get(default, default))
            for c in kb.categories if c.queue and c.queue not in titles]


def added_entries_file(settings: Settings) -> Path:
    """Where accepted suggestions go: beside the knowledge base, in a file of their own."""
    first = settings.faq.paths[0]
    return first / "from_specialists.yaml" if first.is_dir() else first


class LiveFaqEditor:
    """The desk's KnowledgeBaseEditor over LiveFaq: writes the YAML file, then reloads."""

    def __init__(self, faq: LiveFaq, path: Path) -> None:
        self._faq = faq
        self._path = path

    async def add_entry(self, entry: Entry) -> None:
        try:
            await asyncio.to_thread(self._faq.add_entry, entry, self._path)
        except DuplicateEntry as exc:
            raise EntryIdTaken(exc.problems[0].reason) from None
        except KbError as exc:
            raise KnowledgeBaseBroken(exc.problems) from None
