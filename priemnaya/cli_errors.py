"""Failures the operator can fix (a database down, a port taken), worded as one line."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

# SQLite's and PostgreSQL's words for a table that a migration would have created.
_NO_TABLE = re.compile(r"no such table|relation \"[^\"]+\" does not exist")


class CommandError(Exception):
    """Printed by the command line after `priemnaya: `, without a traceback; exit 1."""


def shown_url(url: str) -> str:
    """The database URL to print or log: its password, if any, masked."""
    return make_url(url).render_as_string(hide_password=True)


def os_reason(exc: OSError) -> str:
    # asyncio's own text repeats the address ("error while attempting to bind on ..."):
    # the errno's text alone reads well after ours.
    if isinstance(exc.errno, int) and exc.errno > 0:
        return os.strerror(exc.errno).lower()
    text = exc.strerror or str(exc)
    if not text and isinstance(exc, TimeoutError):  # asyncpg's connect timeout has no text
        return "timed out"
    return (text or type(exc).__name__).lower()


def database_reason(exc: DBAPIError | OSError) -> str:
    if isinstance(exc, OSError):
        return os_reason(exc)
    reason = str(exc.orig or exc).strip().splitlines()[0][:200]
    if _NO_TABLE.search(reason):
        reason += "; run `priemnaya db upgrade` first"
    return reason


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turns a database that cannot be reached or is not migrated into a CommandError."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        raise CommandError(f"cannot use the database {shown_url(url)}: "
                           f"{database_reason(exc)}") from None
