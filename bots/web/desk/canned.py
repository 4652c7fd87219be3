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
    """The institution's folder first, then the defaults; files are re-read when changed."""

    def __init__(self, dirs: Sequence[Path] = ()) -> None:
        self._dirs = tuple(dirs)
        self._env = jinja2.Environment(
            loader=OverridingLoader([str(d) for d in (*dirs, DEFAULT_DIR)]),
            autoescape=False,  # plain text for a textarea; the page escapes it
            trim_blocks=True, lstrip_blocks=True, auto_reload=True,
        )

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
                text = self._env.get_template(name).render(**context).strip()
                source = self._env.loader.get_source(self._env, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateError:
                log.exception("canned response %s is broken", name)
                continue
            title = _TITLE.match(source)
            found.append(Canned(name, title.group(1) if title else name.removesuffix(".j2"),
                                text))
        return found
