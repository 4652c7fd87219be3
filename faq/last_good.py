"""A copy of the last knowledge base that loaded, to start on when the edited files do not."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from faq.loader import check_kb
from faq.synonyms import check_synonyms

POINTER = "CURRENT"
SOURCES = "sources.txt"  # the settings' paths the copy was made from


@dataclass(frozen=True, slots=True)
class KbCopy:
    """The copied files, in the order the originals were read."""

    folder: Path
    kb: tuple[Path, ...]
    synonyms: tuple[Path, ...]


class LastGood:
    """Keeps each version in a folder of its own and names the current one in POINTER, which
    is replaced atomically: a start-up reading it never sees a half-written copy. A copy is
    used only for the same settings (faq.paths and faq.synonyms) it was made with: another
    knowledge base's copy would answer other questions."""

    def __init__(self, folder: Path, sources: Sequence[Path]) -> None:
        self._sources = "".join(f"{path.resolve()}\n" for path in sources)
        # A folder per set of sources: a test run or a second institution sharing the data
        # folder leaves this one's copy alone.
        self._folder = folder / hashlib.sha256(self._sources.encode()).hexdigest()[:16]

    def save(self, kb_files: Sequence[Path], synonym_files: Sequence[Path]) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        version = Path(tempfile.mkdtemp(prefix=f"v{time.time_ns()}-", dir=self._folder))
        try:
            _copy(kb_files, version / "kb")
            _copy(synonym_files, version / "synonyms")
            (version / SOURCES).write_text(self._sources, encoding="utf-8")
            # The files may have been edited again since they loaded: keep only a usable copy.
            if check_kb([version / "kb"]) or check_synonyms(_listed(version / "synonyms")):
                raise ValueError("the files changed while being copied")
        except (OSError, ValueError):
            shutil.rmtree(version, ignore_errors=True)
            raise
        previous = self._current()
        _write_atomically(self._folder / POINTER, version.name)
        self._prune(keep={version.name, previous.name if previous else ""})

    def load(self) -> KbCopy | None:
        """The copy saved last, or None when there is none (a first start)."""
        version = self._current()
        if version is None or _read(version / SOURCES) != self._sources:
            return None
        return KbCopy(version, tuple(_listed(version / "kb")),
                      tuple(_listed(version / "synonyms")))

    def _current(self) -> Path | None:
        name = (_read(self._folder / POINTER) or "").strip()
        return self._folder / name if name else None

    def _prune(self, keep: set[str]) -> None:
        # The previous version stays: another replica may be starting on it right now.
        for old in self._folder.glob("v*"):
            if old.is_dir() and old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)


def _copy(files: Sequence[Path], target: Path) -> None:
    target.mkdir()
    for position, path in enumerate(files):
        # Numbered: two folders may both hold a region.yaml, and the order is the loader's.
        shutil.copyfile(path, target / f"{position:03d}-{path.name}")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _listed(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _write_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
