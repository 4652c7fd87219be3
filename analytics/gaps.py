"""Knowledge gaps: unanswered and clarified client questions grouped by similarity."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from handlers.names import known_name
from handlers.pii import mask

# token_set_ratio over stems: 70 joins "где взять справку о составе семьи" with "справка о
# составе семьи где получить" and keeps "компенсация за газ" apart from "компенсация за свет"
# only when the rest differs; chosen on the sample cases, tune with real logs.
SIMILARITY = 70
MAX_EXAMPLES = 3
_WORD = re.compile(r"[а-яёa-z]+")
_STOP_WORDS = """
и в во на с со к ко по о об от до за из у а но да же ли не ни то как что где когда мне
меня мой моя мое мои я вы мы он она они это этот эта там тут или для при про нужно надо
можно здравствуйте добрый день пожалуйста спасибо подскажите скажите
"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class GapMessage:
    text: str
    decision: str  # no_match / clarify
    client_name: str = ""  # the client's messenger name: its words alone are masked too


@dataclass(slots=True)
class Cluster:
    key: str  # the normalised form of the first question, compared with newcomers
    size: int = 0
    no_match: int = 0
    clarify: int = 0
    examples: list[str] = field(default_factory=list)


@functools.cache
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("russian")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


def normalize(text: str) -> str:
    """Lowercased stems of the meaningful words, sorted: word order does not matter."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    return " ".join(sorted({_stem(w) for w in words if w not in _STOP and len(w) > 1}))


def cluster(messages: Iterable[GapMessage]) -> list[Cluster]:
    """Greedy: each question joins the most similar cluster above the threshold, else starts
    its own. Identical normalised forms join without any comparison."""
    clusters: list[Cluster] = []
    keys: list[str] = []
    by_key: dict[str, Cluster] = {}
    for msg in messages:
        key = normalize(msg.text)
        if not key:
            continue
        found = by_key.get(key)
        if found is None:
            best = process.extractOne(key, keys, scorer=fuzz.token_set_ratio,
                                      score_cutoff=SIMILARITY)
            found = clusters[best[2]] if best else None
        if found is None:
            found = Cluster(key)
            clusters.append(found)
            keys.append(key)
        by_key[key] = found
        _add(found, msg)
    return sorted(clusters, key=lambda c: (-c.size, c.key))


def _add(target: Cluster, msg: GapMessage) -> None:
    target.size += 1
    if msg.decision == "clarify":
        target.clarify += 1
    else:
        target.no_match += 1
    example = mask(msg.text.strip(), names=True, known=known_name(msg.client_name))[:300]
    if len(target.examples) < MAX_EXAMPLES and example not in target.examples:
        target.examples.append(example)
