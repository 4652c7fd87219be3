"""Client-facing texts rendered from jinja2 templates an institution may override."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2

# Edited templates take effect without a restart; checking a template's file on every render
# (an os.stat per template, several per reply) is what auto_reload alone would do.
RECHECK_S = 1.0

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "messages"


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian noun form that agrees with n: 1 знак, 2 знака, 5 знаков, 11 знаков, 21 знак."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many


class OverridingLoader(jinja2.FileSystemLoader):
    """Templates from the institution's folder first, then the defaults; one added to the
    institution's folder while running takes over at the next render. jinja2's auto_reload
    watches only the file a template was loaded from, so the default would stay."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)

        def fresh() -> bool:
            return uptodate() and self._first(template) == filename

        return source, filename, fresh

    def _first(self, template: str) -> str | None:
        for folder in self.searchpath:
            path = os.path.normpath(os.path.join(folder, template))
            if os.path.isfile(path):
                return path
        return None


class JinjaTexts:
    """Looks for `<name>.j2` in the institution's folders first, then in the defaults."""

    def __init__(self, override_dirs: Sequence[Path] = ()) -> None:
        dirs = [*override_dirs, DEFAULT_TEMPLATES]
        self._env = jinja2.Environment(
            loader=OverridingLoader([str(d) for d in dirs]),
            autoescape=False,  # plain text: each channel escapes for its own markup
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=True,
        )
        self._env.globals["plural"] = plural
        self._fresh: dict[str, tuple[float, jinja2.Template]] = {}
        # Texts without variables (button labels, most notices), per template as loaded: every
        # reply carries several, and a render costs ~20 µs. A reloaded template renders anew.
        self._static: dict[str, tuple[jinja2.Template, str]] = {}

    def render(self, name: str, **context: object) -> str:
        template = self._template(f"{name}.j2")
        if context:
            return template.render(**context).strip()
        cached = self._static.get(name)
        if cached is not None and cached[0] is template:
            return cached[1]
        text = template.render().strip()
        self._static[name] = (template, text)
        return text

    def _template(self, name: str) -> jinja2.Template:
        now = time.monotonic()
        found = self._fresh.get(name)
        if found is None or now - found[0] > RECHECK_S:
            found = (now, self._env.get_template(name))
            self._fresh[name] = found
        return found[1]

    def check(self) -> list[str]:
        """Names of templates that fail to compile, for a start-up check."""
        broken = []
        for name in self._env.list_templates(extensions=["j2"]):
            try:
                self._env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                broken.append(f"{name}: line {exc.lineno}: {exc.message}")
        return broken
