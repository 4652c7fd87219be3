"""Does the decision hold when answers are written longer or shorter than in the tuning KB?

Other institutions write answers of other lengths, and both the index (answer field) and the
word-vector share read the answers. Each KB is evaluated as is, with every answer followed by
another answer of its category, and with answers cut to their first sentence; with and without
word vectors. Run: python -m bench.faq_stress [../shared/eval]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from faq.evaluate import evaluate, load_cases
from faq.loader import load_kb
from faq.matcher import build_matcher
from faq.model import KnowledgeBase

KEYS = ("answer_accuracy", "wrong_answer_rate", "oos_false_answer_rate", "resolution_rate")


def longer(kb: KnowledgeBase) -> KnowledgeBase:
    entries = []
    for number, entry in enumerate(kb.entries):
        same = [e for e in kb.entries if e.category == entry.category and e.id != entry.id]
        extra = same[number % len(same)].answer if same else ""
        entries.append(replace(entry, answer=f"{entry.answer}\n{extra}"))
    return KnowledgeBase(kb.categories, tuple(entries), kb.institution)


def shorter(kb: KnowledgeBase) -> KnowledgeBase:
    entries = tuple(replace(e, answer=e.answer.split(".")[0] + ".") for e in kb.entries)
    return KnowledgeBase(kb.categories, entries, kb.institution)


VARIANTS: dict[str, Callable[[KnowledgeBase], KnowledgeBase]] = {
    "as written": lambda kb: kb,
    "answers doubled": longer,
    "first sentence only": shorter,
}


def main(eval_dir: Path) -> None:
    sets = [(Path("kb/sample"), Path("kb/sample/cases.jsonl"))]
    if (eval_dir / "dev_cases.jsonl").exists():
        sets.insert(0, (eval_dir / "kb_social_protection.yaml", eval_dir / "dev_cases.jsonl"))
    for kb_path, cases_path in sets:
        kb, cases = load_kb([kb_path]), load_cases(cases_path)
        for name, change in VARIANTS.items():
            for semantic in (False, True):
                report = evaluate(build_matcher(change(kb), semantic=semantic).match, cases)
                figures = " ".join(f"{k}={getattr(report, k):.3f}" for k in KEYS)
                kind = "vectors" if semantic else "lexical"
                print(f"{kb_path.name:28} {name:20} {kind:8} {figures}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/eval"))
