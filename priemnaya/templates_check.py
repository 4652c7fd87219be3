"""`priemnaya settings` on the institution's templates: each compiles and names a built-in one."""

from __future__ import annotations

import difflib
from pathlib import Path

import jinja2
from jinja2 import meta

from analytics.numbers import add_number_filters
from bots.web.desk.canned import CannedResponses
from handlers.texts import DEFAULT_TEMPLATES, BrokenTemplate, to_broken_template
from priemnaya.settings import Settings

WEB_TEMPLATES = DEFAULT_TEMPLATES.parent / "web"
# What aiohttp_jinja2 (its globals too) and the context processors (bots/web/auth.py) give
# every page.
_PAGE_CONTEXT = frozenset(("app", "request", "url", "static", "user", "csrf_token"))


def page_environment() -> jinja2.Environment:
    """As the web application sets pages up (priemnaya/webapp.py), for compiling them."""
    env = jinja2.Environment(autoescape=True)
    add_number_filters(env)
    return env


def template_problems(settings: Settings) -> list[str]:
    """Pages and ready replies of the institution that do not compile: file, line, reason."""
    return [f"templates.override_dir: {found}"
            for found in [*broken_pages(settings), *broken_canned(settings)]]


def broken_pages(settings: Settings) -> list[BrokenTemplate]:
    folder = settings.templates.override_dir
    env, broken = page_environment(), []
    for path in sorted((folder / "web").glob("*.html")) if folder else []:
        try:
            env.compile(path.read_text(encoding="utf-8"), path.name, str(path))
        except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError) as exc:
            broken.append(to_broken_template(str(path), exc))
    return broken


def broken_canned(settings: Settings) -> list[BrokenTemplate]:
    folder = settings.templates.override_dir
    return CannedResponses([folder / "canned"]).broken() if folder else []


def template_warnings(settings: Settings) -> list[str]:
    """Files no built-in template has the name of (read by nothing: a typo, likely), and
    variables a page uses that no built-in page is given (empty on the page)."""
    folder = settings.templates.override_dir
    if folder is None:
        return []
    found = []
    for where, builtin, pattern in ((folder / "messages", DEFAULT_TEMPLATES, "*.j2"),
                                    (folder, DEFAULT_TEMPLATES, "*.j2"),
                                    (folder / "web", WEB_TEMPLATES, "*.html")):
        found += _unknown_names(where, builtin, pattern)
    return found + _unknown_page_variables(folder / "web")


def _unknown_names(folder: Path, builtin: Path, pattern: str) -> list[str]:
    names = sorted(path.name for path in builtin.glob(pattern))
    found = []
    for path in sorted(folder.glob(pattern)):
        if path.name not in names:
            close = difflib.get_close_matches(path.name, names, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            found.append(f"templates.override_dir: {path}: no built-in template has this name, "
                         f"so nothing reads it{hint}")
    return found


def _unknown_page_variables(folder: Path) -> list[str]:
    env = page_environment()
    given = set(_PAGE_CONTEXT) | set(env.globals)
    for path in WEB_TEMPLATES.glob("*.html"):
        given |= meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
    found = []
    for path in sorted(folder.glob("*.html")):
        try:
            used = meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError):
            continue  # a problem of template_problems
        if extra := sorted(used - given):
            found.append(f"templates.override_dir: {path}: uses {', '.join(extra)}, which no "
                         "built-in page is given: empty on the page, or the built-in page "
                         "instead if it fails")
    return found
