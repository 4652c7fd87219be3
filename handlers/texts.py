"""Client-facing texts rendered from jinja2 templates an institution may override."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import jinja2
from jinja2 import meta

from faq.model import Entry

log = logging.getLogger(__name__)

# Edited templates take effect without a restart; checking a template's file on every render
# (an os.stat per template, several per reply) is what auto_reload alone would do.
RECHECK_S = 1.0

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "messages"
# Renders kept per template and context (_context_key); a knowledge base's entries, twice.
MAX_RENDERED = 4096
# Context values a render is kept for: flags, counts and the knowledge base's own entries.
# Never text: a str may be a client's words (a crisis hit's fragment, a requested topic),
# which must not stay in memory after the message is handled.
_KEPT_TYPES = frozenset((bool, int, Entry))


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
            return uptodate() and self.first(template) == filename

        return source, filename, fresh

    def first(self, template: str) -> str | None:
        """The file a template is read from: the first folder that has it."""
        for folder in self.searchpath:
            path = os.path.normpath(os.path.join(folder, template))
            if os.path.isfile(path):
                return path
        return None


class TemplateTrouble(StrEnum):
    """Why a template is broken, for the admin pages to say in Russian."""

    SYNTAX = "syntax"  # at `line`; jinja2's words are `detail`
    UNREADABLE = "unreadable"
    NOT_UTF8 = "not_utf8"
    UNDEFINED = "undefined"  # the variable is `detail`
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class BrokenTemplate:
    """An institution's template that does not compile or render: clients get the default."""

    file: str
    error: str  # in English, for the log and `priemnaya settings`
    # Not compared: they restate the error.
    trouble: TemplateTrouble = field(default=TemplateTrouble.OTHER, compare=False)
    line: int = field(default=0, compare=False)
    detail: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.file}: {self.error}"


class JinjaTexts:
    """Looks for `<name>.j2` in the institution's folders first, then in the defaults.

    Undefined variables are errors (StrictUndefined), not silently empty text: a misspelt
    `{{ adress }}` would otherwise send clients a sentence with a hole in it. An override that
    fails to compile or render is replaced by the default of the same name, logged once per
    template and error, and listed by `broken()` for the admin pages.
    """

    def __init__(self, override_dirs: Sequence[Path] = ()) -> None:
        self._overrides = tuple(override_dirs)
        self._loader = OverridingLoader([str(d) for d in (*override_dirs, DEFAULT_TEMPLATES)])
        self._env = _environment(self._loader)
        self._defaults = _environment(OverridingLoader([str(DEFAULT_TEMPLATES)]))
        self._fresh: dict[str, tuple[float, jinja2.Template | BrokenTemplate]] = {}
        # Texts without variables (button labels, most notices), per template as loaded: every
        # reply carries several, and a render costs ~20 µs. A reloaded template renders anew.
        self._static: dict[str, tuple[jinja2.Template, str]] = {}
        # The same for contexts of entries and flags (an answer, a clarifying question): the
        # bot's every reply to a question renders one or two of these.
        self._rendered: dict[tuple[object, ...], tuple[jinja2.Template, str]] = {}
        # Per template file: the broken version (None: it did not compile) and why.
        self._broken: dict[str, tuple[jinja2.Template | None, BrokenTemplate]] = {}
        self._logged: set[BrokenTemplate] = set()

    def render(self, name: str, **context: object) -> str:
        file = f"{name}.j2"
        loaded = self._template(file)
        if isinstance(loaded, jinja2.Template):
            try:
                text = self._render(name, loaded, context)
            except Exception as exc:  # an institution's template may fail in any way
                if _is_default(loaded):
                    raise
                self._note(file, loaded, to_broken_template(loaded.filename or file, exc))
            else:
                self._healed(file, loaded)
                return text
        return self._render(name, self._defaults.get_template(file), context)

    def broken(self) -> list[BrokenTemplate]:
        """The overrides that do not compile, and those that failed to render until a fixed
        version renders; an admin sees the first before any client is given the default."""
        for name in {*(path.name for path in override_files(self._overrides)), *self._broken}:
            self._template(name)  # a stat per file, but for the recheck interval
        return [found for _, found in self._broken.values()]

    def _render(self, name: str, template: jinja2.Template, context: dict[str, object]) -> str:
        if context:
            return self._render_with(name, template, context)
        cached = self._static.get(name)
        if cached is not None and cached[0] is template:
            return cached[1]
        text = template.render().strip()
        self._static[name] = (template, text)
        return text

    def _render_with(self, name: str, template: jinja2.Template,
                     context: dict[str, object]) -> str:
        key = _context_key(name, context)
        if key is None:
            return template.render(**context).strip()
        cached = self._rendered.get(key)
        if cached is not None and cached[0] is template:
            return cached[1]
        text = template.render(**context).strip()
        if len(self._rendered) >= MAX_RENDERED:
            self._rendered.clear()
        self._rendered[key] = (template, text)
        return text

    def _template(self, name: str) -> jinja2.Template | BrokenTemplate:
        now = time.monotonic()
        found = self._fresh.get(name)
        if found is None or now - found[0] > RECHECK_S:
            found = (now, self._load(name))
            self._fresh[name] = found
        return found[1]

    def _load(self, name: str) -> jinja2.Template | BrokenTemplate:
        try:
            template = self._env.get_template(name)
        except (jinja2.TemplateSyntaxError, UnicodeDecodeError) as exc:
            file = exc.filename if isinstance(exc, jinja2.TemplateSyntaxError) \
                else self._loader.first(name)
            if file is None or _in_defaults(file):
                raise
            broken = to_broken_template(file, exc)
            self._note(name, None, broken)
            return broken
        found = self._broken.get(name)
        # Compiles now (a render will tell the rest), or the override is gone.
        if found is not None and (found[0] is None or _is_default(template)):
            del self._broken[name]
        return template

    def _note(self, name: str, template: jinja2.Template | None, broken: BrokenTemplate) -> None:
        self._broken[name] = (template, broken)
        if broken not in self._logged:
            self._logged.add(broken)
            log.error("client text template %s fails, clients get the default text instead: %s",
                      broken.file, broken.error)

    def _healed(self, name: str, template: jinja2.Template) -> None:
        found = self._broken.get(name)
        # A template that failed with some variables may still render with others: only a
        # new version of the file clears it.
        if found is not None and found[0] is not template:
            del self._broken[name]


def _context_key(name: str, context: dict[str, object]) -> tuple[object, ...] | None:
    """A key for a render whose context holds only _KEPT_TYPES (a list of entries as a tuple);
    None for any other context, which is rendered every time."""
    key: list[object] = [name]
    for field_name, value in context.items():
        if type(value) is list and all(type(v) is Entry for v in value):
            value = tuple(value)
        elif type(value) not in _KEPT_TYPES:
            return None
        key += (field_name, value)
    return tuple(key)


def check_overrides(override_dirs: Sequence[Path]) -> list[BrokenTemplate]:
    """The institution's templates that do not compile, for `priemnaya settings`."""
    env = _environment(jinja2.FileSystemLoader(override_dirs))
    broken = []
    for path in override_files(override_dirs):
        try:
            env.compile(path.read_text(encoding="utf-8"), path.name, str(path))
        except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError) as exc:
            broken.append(to_broken_template(str(path), exc))
    return broken


def unknown_variables(override_dirs: Sequence[Path]) -> list[str]:
    """Variables an override uses that its default does not: likely undefined at render."""
    env, found = _environment(jinja2.FileSystemLoader(override_dirs)), []
    for path in override_files(override_dirs):
        default = DEFAULT_TEMPLATES / path.name
        try:
            own = meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
            given = meta.find_undeclared_variables(env.parse(default.read_text(encoding="utf-8")))
        except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError):
            continue  # reported by check_overrides, or a template of the institution's own
        if extra := sorted(own - given - set(env.globals)):
            found.append(f"{path}: uses {', '.join(extra)}, which the default {path.name} does "
                         "not: clients get the default text if it is not given")
    return found


def override_files(override_dirs: Sequence[Path]) -> list[Path]:
    return [path for folder in override_dirs if folder.is_dir()
            for path in sorted(folder.glob("*.j2"))]


def _environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader,
        autoescape=False,  # plain text: each channel escapes for its own markup
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=True,
    )
    env.globals["plural"] = plural
    return env


def _in_defaults(filename: str) -> bool:
    return Path(filename).is_relative_to(DEFAULT_TEMPLATES)


def _is_default(template: jinja2.Template) -> bool:
    return template.filename is None or _in_defaults(template.filename)


_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")


def to_broken_template(file: str, exc: Exception) -> BrokenTemplate:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return BrokenTemplate(file, f"line {exc.lineno}: {exc.message}", TemplateTrouble.SYNTAX,
                              exc.lineno, exc.message or "")
    if isinstance(exc, OSError):
        return BrokenTemplate(file, f"cannot read: {exc.strerror}", TemplateTrouble.UNREADABLE)
    if isinstance(exc, UnicodeDecodeError):
        return BrokenTemplate(file, "not UTF-8", TemplateTrouble.NOT_UTF8)
    error = f"{type(exc).__name__}: {exc}"
    undefined = _UNDEFINED.match(str(exc)) if isinstance(exc, jinja2.UndefinedError) else None
    if undefined:
        return BrokenTemplate(file, error, TemplateTrouble.UNDEFINED, detail=undefined[1])
    return BrokenTemplate(file, error)
