"""Builds the hot-reloading FAQ engine from the settings."""

from __future__ import annotations

from dataclasses import replace

from faq.live import LiveFaq
from faq.loader import KbError
from faq.matcher import MatcherConfig
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
