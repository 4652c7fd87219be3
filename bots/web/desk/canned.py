"""Canned responses: templates/canned/*.j2, rendered with the client's name."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from handlers.texts import BrokenTemplate, OverridingLoader, override_files, to_broken_template

log = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "templates" / "canned"
# The first line of a template may name it for the list: {# Приветствие #}
_TITLE = re.compile(r"^\s*\{#-?\s*(.+?)\s*-?#\}")


@dataclass(frozen=True, slots=True)
class Canned:
    name: str
    title: str
    text: str


class CannedResponses:
    """The institution's folder first, then the defaults; files are re-read when changed. An
    override that fails gives way to the default of its name (one ERROR line per failure)."""

    def __init__(self, dirs: Sequence[Path] = ()) -> None:
        self._dirs = tuple(dirs)
        self._env = _environment([*dirs, DEFAULT_DIR])
        self._defaults = _environment([DEFAULT_DIR])
        self._logged: set[BrokenTemplate] = set()

    def broken(self) -> list[BrokenTemplate]:
        """The institution's ready replies that do not compile, for `priemnaya settings`."""
        found = []
        for path in override_files(self._dirs):
            try:
                self._env.compile(path.read_text(encoding="utf-8"), path.name, str(path))
            except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError) as exc:
                found.append(to_broken_template(str(path), exc))
        return found

    def render_all(self, **context: object) -> list[Canned]:
        found = []
        for name in sorted(self._env.list_templates(extensions=["j2"])):
            try:
                found.append(_render(self._env, name, context))
            except jinja2.TemplateError as exc:
                self._note(name, exc)
                if (DEFAULT_DIR / name).is_file():
                    found.append(_render(self._defaults, name, context))
        return found

    def _note(self, name: str, exc: Exception) -> None:
        loader = self._env.loader
        file = loader.first(name) if isinstance(loader, OverridingLoader) else None
        broken = to_broken_template(file or name, exc)
        if broken not in self._logged:
            self._logged.add(broken)
            log.error("ready reply %s fails, the desk lists the built-in one of its name (if "
                      "any) instead: %s", broken.file, broken.error)


def _environment(dirs: Sequence[Path]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=OverridingLoader([str(d) for d in dirs]),
        autoescape=False,  # plain text for a textarea; the page escapes it
        trim_blocks=True, lstrip_blocks=True, auto_reload=True,
    )


def _render(env: jinja2.Environment, name: str, context: dict[str, object]) -> Canned:
    text = env.get_template(name).render(**context).strip()
    source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
    title = _TITLE.match(source)
    return Canned(name, title.group(1) if title else name.removesuffix(".j2"), text)
