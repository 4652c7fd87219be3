"""Builds the hot-reloading FAQ engine from the settings."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from faq.live import LiveFaq
from faq.loader import KbError
from faq.matcher import MatcherConfig
from faq.model import Entry
from priemnaya.settings import Settings, SettingsError


def matcher_config(settings: Settings) -> MatcherConfig:
    """The tuned defaults, with whichever thresholds the settings override."""
    overrides = {k: v for k, v in settings.faq.thresholds.model_dump().items() if v is not None}
    return replace(MatcherConfig(), **overrides)


def build_faq(settings: Settings) -> LiveFaq:
    try:
        return LiveFaq(settings.faq.paths, matcher_config(settings), settings.faq.synonyms)
    except KbError as exc:
        first = exc.problems[0] if exc.problems else exc
        more = f" (and {len(exc.problems) - 1} more; run `priemnaya faq check`)" \
            if len(exc.problems) > 1 else ""
        raise SettingsError(f"knowledge base faq.paths is not usable: {first}{more}") from None


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
        except KbError as exc:
            raise ValueError("; ".join(p.reason for p in exc.problems) or str(exc)) from None
