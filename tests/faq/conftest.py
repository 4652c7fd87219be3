from __future__ import annotations

from pathlib import Path

import pytest

from faq.loader import load_kb
from faq.matcher import Matcher, build_matcher
from faq.model import KnowledgeBase

REHAB = Path(__file__).parent / "data" / "rehab.yaml"


@pytest.fixture(scope="session")
def rehab_kb() -> KnowledgeBase:
    return load_kb([REHAB])


@pytest.fixture(scope="session")
def matcher(rehab_kb: KnowledgeBase) -> Matcher:
    return build_matcher(rehab_kb)
