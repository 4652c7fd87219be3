"""An accepted FAQ suggestion lands in the knowledge base files and is served at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq.live import LiveFaq
from faq.matcher import MatcherConfig
from faq.model import Decision, Entry
from priemnaya.faq_setup import LiveFaqEditor, added_entries_file, matcher_config
from priemnaya.settings import Settings

KB = """\
categories:
  - {id: docs, title: "Документы", queue: general}
entries:
  - id: docs.passport
    category: docs
    question: "Как восстановить утерянный паспорт?"
    answer: "Обратитесь в МФЦ с заявлением."
"""


async def test_editor_appends_entry_and_it_is_matched(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "base.yaml").write_text(KB, encoding="utf-8")
    settings = Settings(faq={"paths": [kb_dir]})
    live = LiveFaq(settings.faq.paths, matcher_config(settings))
    target = added_entries_file(settings)
    assert target == kb_dir / "from_specialists.yaml"
    editor = LiveFaqEditor(live, target)
    await editor.add_entry(Entry("docs.snils", "docs", "Как получить СНИЛС ребёнку?",
                                 "СНИЛС оформляют автоматически после рождения."))
    assert live.kb.entry("docs.snils") is not None
    assert target.exists()
    result = live.match("Как получить СНИЛС ребёнку?")
    assert result.decision is Decision.ANSWER and result.best.entry_id == "docs.snils"
    with pytest.raises(ValueError, match="duplicate"):
        await editor.add_entry(Entry("docs.snils", "docs", "Другой вопрос?", "Ответ."))


def test_threshold_overrides_reach_the_matcher() -> None:
    settings = Settings(faq={"thresholds": {"answer_threshold": 0.9, "answer_confidence": 0.8}})
    assert matcher_config(settings).answer_threshold == 0.9
    assert matcher_config(settings).answer_confidence == 0.8
    assert matcher_config(settings).margin == MatcherConfig().margin
    assert matcher_config(Settings()) == MatcherConfig()
