"""Pages an institution may override: one that fails gives way to the built-in page."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from handlers.texts import BrokenTemplate, OverridingLoader, to_broken_template

log = logging.getLogger(__name__)


class PageLoader(OverridingLoader):
    """The institution's pages first, then the built-in ones. An override that does not
    compile, or failed to render, is passed over until its file changes: one broken page (or
    the admin's navigation included in every admin page) must not take the web chat or the
    admin pages down, nor hide the banner that says what is wrong."""

    def __init__(self, builtin: Path, override: Path | None = None,
                 on_broken: Callable[[BrokenTemplate], None] | None = None) -> None:
        super().__init__([str(p) for p in (override, builtin) if p is not None])
        self._on_broken = on_broken or _log_broken
        self._override = None if override is None else os.path.normpath(override)
        # Per override file: its modification time when it failed, and why.
        self._broken: dict[str, tuple[int, BrokenTemplate]] = {}
        self._logged: set[BrokenTemplate] = set()
        self._checked: dict[str, int] = {}  # override files compiled by broken(), as seen

    def first(self, template: str) -> str | None:
        for folder in self.searchpath:
            path = os.path.normpath(os.path.join(folder, template))
            if os.path.isfile(path) and not self._passed_over(path):
                return path
        return None

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        while (path := self.first(template)) is not None:
            try:
                mtime, source = _mtime(path), Path(path).read_text(encoding="utf-8")
                if self.is_override(path):
                    environment.compile(source, template, path)
            except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError) as exc:
                if not self.is_override(path):
                    raise
                self.note(path, exc)
                continue

            def fresh(path: str = path, mtime: int = mtime) -> bool:
                return self.first(template) == path and _mtime(path) == mtime

            return source, path, fresh
        raise jinja2.TemplateNotFound(template)

    def is_override(self, filename: str) -> bool:
        return self._override is not None and \
            os.path.normpath(filename).startswith(self._override + os.sep)

    def culprit(self, exc: BaseException) -> str | None:
        """The innermost override a failure passed through (jinja2 names each template's frames
        after its file): an included override fails inside the page that includes it."""
        found, tb = None, exc.__traceback__
        while tb is not None:
            if self.is_override(tb.tb_frame.f_code.co_filename):
                found = tb.tb_frame.f_code.co_filename
            tb = tb.tb_next
        return found

    def note(self, path: str, exc: Exception) -> None:
        broken = to_broken_template(path, exc)
        self._broken[path] = (_mtime(path), broken)
        if broken not in self._logged:
            self._logged.add(broken)
            self._on_broken(broken)

    def broken(self, environment: jinja2.Environment) -> list[BrokenTemplate]:
        """The overrides passed over; each changed file is compiled first, so that one that does
        not compile is listed before anybody opens its page."""
        if self._override is not None and os.path.isdir(self._override):
            for path in sorted(Path(self._override).glob("*.html")):
                file = str(path)
                if self._checked.get(file) != _mtime(file) and not self._passed_over(file):
                    self._checked[file] = _mtime(file)
                    self._compile(environment, file)
        return [found for path, (_, found) in sorted(self._broken.items())
                if self._passed_over(path)]

    def _compile(self, environment: jinja2.Environment, file: str) -> None:
        try:
            environment.compile(Path(file).read_text(encoding="utf-8"), Path(file).name, file)
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError) as exc:
            self.note(file, exc)

    def _passed_over(self, path: str) -> bool:
        found = self._broken.get(path)
        if found is None:
            return False
        if found[0] == _mtime(path):
            return True
        del self._broken[path]  # edited (or gone) since: tried again
        return False


class PageTemplate(jinja2.Template):
    """A page whose override fails to render is rendered again without that override."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        try:
            return super().render(*args, **kwargs)
        except Exception as exc:  # an institution's template may fail in any way
            loader = self.environment.loader
            if not isinstance(loader, PageLoader) or (culprit := loader.culprit(exc)) is None:
                raise
            loader.note(culprit, exc)
        return self.environment.get_template(self.name or "").render(*args, **kwargs)


def _log_broken(broken: BrokenTemplate) -> None:
    log.error("page template %s fails, the built-in page is shown instead: %s",
              broken.file, broken.error)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1
