"""Start-up tuning of the collector that `priemnaya run` applies once it listens."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from priemnaya.serve import COLLECTOR_THRESHOLDS, freeze_startup_heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_heap_is_frozen_and_young_collections_are_rarer(collector: None) -> None:
    survivor = [object()]  # lives from start-up on, like the knowledge base's index
    freeze_startup_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert COLLECTOR_THRESHOLDS[0] > 700  # CPython's default
    # Frozen objects are not collected, and a cycle made afterwards still is.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
    assert survivor
