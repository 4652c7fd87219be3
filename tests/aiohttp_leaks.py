"""Opt-in pytest plugin: names the test that leaves an aiohttp session or connector open.

The garbage collector reports an unclosed session inside whichever later test it happens to
run in (pyproject.toml's filterwarnings ignores that report for now). Run a subset with
`-p tests.aiohttp_leaks`: after each test, a session or connector made during it and still
open is written, with the stack that made it, to the file $AIOHTTP_LEAKS (default
aiohttp-leaks.txt); so is one collected unclosed, with the test it was made in.
"""

from __future__ import annotations

import gc
import os
import traceback
import weakref
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

_made: dict[int, tuple[str, str]] = {}  # id → (test, stack)
_open: list[tuple[weakref.ref[Any], str]] = []
_running = ["(collection)"]


def _write(text: str) -> None:
    try:
        with open(os.environ.get("AIOHTTP_LEAKS", "aiohttp-leaks.txt"), "a",
                  encoding="utf-8") as f:
            f.write(text)
    except NameError:  # collected at interpreter exit, when builtins are gone
        pass


def _tracked(cls: Any) -> None:
    init, delete = cls.__init__, cls.__del__

    def tracked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _made[id(self)] = (_running[0], "".join(traceback.format_stack(limit=16)[:-1]))
        _open.append((weakref.ref(self), _running[0]))

    def tracked_del(self: Any, *args: Any, **kwargs: Any) -> None:
        if not self.closed:
            test, stack = _made.get(id(self), ("?", ""))
            _write(f"=== {cls.__name__} collected unclosed during {_running[0]}, "
                   f"made in {test}\n{stack}\n")
        delete(self, *args, **kwargs)

    cls.__init__, cls.__del__ = tracked_init, tracked_del


_tracked(aiohttp.ClientSession)
_tracked(aiohttp.BaseConnector)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _running[0] = item.nodeid
    yield
    gc.collect()
    still = []
    for ref, test in _open:
        obj = ref()
        if obj is None or obj.closed:
            continue
        if test == item.nodeid:
            _write(f"=== {type(obj).__name__} left open by {test}\n{_made[id(obj)][1]}\n")
        else:
            still.append((ref, test))  # reported once, by the test that made it
    _open[:] = still
