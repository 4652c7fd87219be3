"""The knowledge base in service: hot reload on file changes, admin-approved additions."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from faq.last_good import LastGood
from faq.loader import check_kb, defined_in, kb_files, load_kb
from faq.matcher import Matcher, MatcherConfig, build_matcher
from faq.model import Entry, KnowledgeBase, MatchResult
from faq.morph import Lemmatizer
from faq.problems import KbError, Problem, ProblemKind
from faq.writer import dump_yaml, entry_data

_log = logging.getLogger(__name__)
_Stamp = tuple[tuple[str, int, int], ...]


class DuplicateEntry(KbError):
    """The id of an entry being added is already in the knowledge base's files."""


@dataclass(frozen=True, slots=True)
class ReloadFailure:
    """Why the files on disk are not the knowledge base the service answers from."""

    problems: tuple[Problem, ...]
    # The service started on the copy that loaded last (faq.last_good), not on an edit's eve.
    on_last_good: bool = False


class LiveFaq:
    """Answers from the current knowledge base; a broken edit keeps the last good one."""

    def __init__(
        self,
        paths: Sequence[Path],
        config: MatcherConfig | None = None,
        synonym_files: Sequence[Path] = (),
        lemmatizer: Lemmatizer | None = None,
        neural: bool = False,
        neural_cache: Path | None = None,
        last_good: LastGood | None = None,
        on_loaded: Callable[[KnowledgeBase], None] | None = None,
    ) -> None:
        self._paths = tuple(paths)
        self._neural = neural
        self._neural_cache = neural_cache
        self._config = config or MatcherConfig()
        self._synonym_files = tuple(synonym_files)
        self._lemmatizer = lemmatizer
        self._last_good = last_good
        self._on_loaded = on_loaded
        self._lock = threading.Lock()
        self._adding = threading.Lock()
        self._stamp = self._fingerprint()
        self._failure: ReloadFailure | None = None
        self._matcher = self._start()

    @property
    def kb(self) -> KnowledgeBase:
        return self._matcher.kb

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    @property
    def reload_failure(self) -> ReloadFailure | None:
        """The last reload's problems while the files stay broken; None once they load."""
        return self._failure

    def match(self, text: str) -> MatchResult:
        return self._matcher.match(text)

    def reload_if_changed(self) -> bool:
        # The watcher's thread and add_entry may both get here; one reload at a time.
        with self._lock:
            stamp = self._fingerprint()
            if stamp == self._stamp:
                return False
            # Remember the stamp even on failure: a broken file is logged once, not every tick.
            self._stamp = stamp
            try:
                kb = load_kb(self._paths)
                matcher = self._build(kb)  # a broken synonyms file fails here
            except KbError as error:
                self._failure = ReloadFailure(tuple(error.problems))
                _log_problems(error.problems)
                return False
            self._matcher = matcher
            self._failure = None
            self._loaded(kb)
        _log.info("knowledge base reloaded: %d entries", len(kb.entries))
        return True

    async def watch(self, interval_s: float) -> None:
        """Poll the files until cancelled; loading runs in a thread to keep the loop free."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.reload_if_changed)
            except Exception as exc:
                _log.exception("knowledge base reload failed; keeping the current one")
                files = ", ".join(map(str, self._paths))
                reason = f"reload failed: {type(exc).__name__}: {exc}"
                self._failure = ReloadFailure((Problem(files, "", reason,
                                                       ProblemKind.RELOAD_FAILED),))

    def add_entry(self, entry: Entry, path: Path) -> None:
        """Append an entry to a YAML file atomically and reload; raises KbError if invalid.

        Serialised within the process and, by a file lock, with other replicas sharing the
        folder: each reads the file as the last writer left it, so no addition is lost.
        """
        with self._adding, _locked(path):
            others = [p for p in kb_files(self._paths) if p.resolve() != path.resolve()]
            on_disk = defined_in([*others, path] if path.exists() else others).entries
            if entry.id in on_disk:
                raise DuplicateEntry([Problem(str(path), entry.id,
                                              f"duplicate id (first in {on_disk[entry.id]})",
                                              ProblemKind.DUPLICATE_ID, (on_disk[entry.id],))])
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            write_checked(path, _appended(old, entry), others)
            self.reload_if_changed()
            if self.kb.entry(entry.id) is None:
                self._paths = (*self._paths, path)
                self._stamp = ()
                self.reload_if_changed()

    def _start(self) -> Matcher:
        try:
            kb = load_kb(self._paths)
            matcher = self._build(kb)
        except KbError as error:
            copy = self._last_good.load() if self._last_good is not None else None
            if copy is None:  # a first start: there is nothing old to keep
                raise
            self._failure = ReloadFailure(tuple(error.problems), on_last_good=True)
            _log.error("knowledge base not loaded, starting on the copy that loaded last, %s",
                       copy.folder)
            _log_problems(error.problems)
            kb = load_kb(copy.kb)
            matcher = self._build(kb, copy.synonyms)
            self._loaded(kb, keep=False)
            return matcher
        self._loaded(kb)
        return matcher

    def _loaded(self, kb: KnowledgeBase, keep: bool = True) -> None:
        if keep and self._last_good is not None:
            try:
                self._last_good.save(kb_files(self._paths), self._synonym_files)
            except (OSError, ValueError) as exc:
                _log.error("could not keep a copy of the knowledge base: %s", exc)
        if self._on_loaded is not None:
            self._on_loaded(kb)

    def _build(self, kb: KnowledgeBase, synonyms: Sequence[Path] | None = None) -> Matcher:
        files = self._synonym_files if synonyms is None else synonyms
        return build_matcher(kb, self._config, files, self._lemmatizer,
                             neural=self._neural, neural_cache=self._neural_cache)

    def _fingerprint(self) -> _Stamp:
        stamps: list[tuple[str, int, int]] = []
        for path in (*kb_files(self._paths), *self._synonym_files):
            try:
                info = path.stat()
            except OSError:
                continue
            stamps.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(stamps)


def _log_problems(problems: Sequence[Problem]) -> None:
    first = f", first: {problems[0]}" if problems else ""
    _log.error("knowledge base not reloaded, keeping the previous one: %d problems%s",
               len(problems), first)
    for problem in problems:
        _log.error("%s", problem)


_LAST_ENTRIES = re.compile(r"^entries:[ \t]*(#.*)?$", re.MULTILINE)


def _appended(old: str, entry: Entry) -> str:
    """The file with the entry added, keeping its comments when `entries:` is its last key."""
    item = dump_yaml([entry_data(entry)])
    found = list(_LAST_ENTRIES.finditer(old))
    tail = old[found[-1].end() :] if found else ""
    # Another top-level key after the list ends it; its items («- id:», at any indent, as
    # dump_yaml writes them at the margin) and comment lines do not.
    if found and not re.search(r"^(?![-#\s])\S", tail, re.MULTILINE):
        indent = _item_indent(tail)
        lines = (indent + line if line else line for line in item.splitlines())
        return old.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    # Otherwise rewrite the whole file: valid beats pretty, comments are lost.
    data = yaml.safe_load(old) if old.strip() else {}
    data = data if isinstance(data, dict) else {}
    data["entries"] = [*(data.get("entries") or []), entry_data(entry)]
    return dump_yaml(data)


def _item_indent(tail: str) -> str:
    match = re.search(r"^([ \t]*)- ", tail, re.MULTILINE)
    return match.group(1) if match else "  "


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on a dot-file beside path, which the knowledge base's loader skips."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_checked(path: Path, text: str, others: Sequence[Path]) -> None:
    """Write via a temporary file in the same folder, replacing only if the result is valid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        problems = check_kb([*others, temp])
        if problems:
            # The temporary file's problems are the target's; another file keeps its name.
            raise KbError([replace(p, file=str(path)) if p.file == str(temp) else p
                           for p in problems])
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _temporary_beside(path: Path) -> tuple[int, Path]:
    """A new dot-file (which the loader skips) with the mode the file has or would get.

    Not mkstemp: its 0600 would pass to the replaced file, unreadable to a replica or an
    editor running as another user of a shared folder.
    """
    for _ in range(100):
        temp = path.parent / f".{path.stem}.{secrets.token_hex(6)}.yaml"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # less the umask
        except FileExistsError:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, path.stat().st_mode & 0o7777)
        return fd, temp
    raise FileExistsError(f"no free temporary name beside {path}")
