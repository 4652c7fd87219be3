"""`priemnaya user add|passwd|disable|enable`: staff accounts of the desk and admin pages."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bots.web.accounts import MAX_NAME, StaffRegistry, account_problem
from bots.web.auth import Role
from bots.web.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    password_problem,
    random_password,
)
from handlers.event_ports import ConversationEvent, Notifier
from priemnaya.cli_errors import database_errors
from storage.engine import build_engine, build_sessions
from storage.users import LastAdmin, LoginTaken, SqlStaffAccounts, SqlWebSessions

EXIT_FAILED = 1
FIRST_ADMIN = "admin"
PROBLEMS = {
    "login": "3 to 64 characters, Latin letters, digits, dot, underscore or hyphen",
    "name_long": f"at most {MAX_NAME} characters",
    "name_lines": "one line of printable characters",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             settings_args: object) -> None:
    user = sub.add_parser("user", help="staff accounts").add_subparsers(dest="action",
                                                                         required=True)
    add = user.add_parser("add", help="create an account")
    add.add_argument("login")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--name", default="", help="name shown to colleagues")
    passwd = user.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("login")
    disable = user.add_parser("disable", help="stop an account signing in (ends its sessions)")
    enable = user.add_parser("enable", help="let a disabled account sign in again")
    for parser in (disable, enable):
        parser.add_argument("login")
        if callable(settings_args):
            settings_args(parser)
    disable.set_defaults(handler=cmd_user_disable)
    enable.set_defaults(handler=cmd_user_enable)
    for parser in (add, passwd):
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from standard input instead of a random one")
        if callable(settings_args):
            settings_args(parser)
    add.set_defaults(handler=cmd_user_add)
    passwd.set_defaults(handler=cmd_user_passwd)


def read_password(args: argparse.Namespace) -> str | None:
    """The password typed on standard input, "" for a random one (shown once), or None if
    the typed one cannot be set (reported)."""
    if not args.password_stdin:
        return ""
    password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem == "short":
        print(f"priemnaya: the password needs at least {MIN_LENGTH} characters", file=sys.stderr)
    elif problem == "long":
        print(f"priemnaya: the password may have at most {MAX_LENGTH} characters",
              file=sys.stderr)
    elif problem == "blank":
        print("priemnaya: the password needs at least 3 different characters besides "
              "spaces at its ends", file=sys.stderr)
    return None if problem else password


def database_url(args: argparse.Namespace) -> str:
    from priemnaya.cli import settings_from

    return settings_from(args).database.url


def registry(engine: AsyncEngine, notifier: Notifier | None = None) -> StaffRegistry:
    sessions = build_sessions(engine)
    return StaffRegistry(SqlStaffAccounts(sessions), SqlWebSessions(sessions), notifier)


@dataclass(frozen=True, slots=True)
class EventChannel:
    """The Redis channel the service's replicas share events on (settings' redis.url)."""

    url: str
    name: str


def event_channel_of(args: argparse.Namespace) -> EventChannel | None:
    from bots.redis_bus import event_channel
    from priemnaya.cli import settings_from

    settings = settings_from(args)
    url = settings.redis.url
    return EventChannel(url, event_channel(url, settings.institution.id)) if url else None


class Held:
    """The events a command raises, kept to send once its database work is done."""

    def __init__(self) -> None:
        self.events: list[ConversationEvent] = []

    async def publish(self, event: ConversationEvent) -> None:
        self.events.append(event)


def cmd_user_add(args: argparse.Namespace) -> int:
    url = database_url(args)
    with database_errors(url):
        return asyncio.run(user_add(url, args))


def cmd_user_passwd(args: argparse.Namespace) -> int:
    url = database_url(args)
    with database_errors(url):
        return asyncio.run(user_passwd(url, args))


def cmd_user_disable(args: argparse.Namespace) -> int:
    url = database_url(args)
    with database_errors(url):
        return asyncio.run(user_set_active(url, args.login, False, event_channel_of(args)))


def cmd_user_enable(args: argparse.Namespace) -> int:
    url = database_url(args)
    with database_errors(url):
        return asyncio.run(user_set_active(url, args.login, True))


async def user_set_active(url: str, login: str, active: bool,
                          channel: EventChannel | None = None) -> int:
    engine = build_engine(url)
    held = Held()
    try:
        staff = registry(engine, held)
        account = await staff.accounts.by_login(login)
        changed = account is not None and await (
            staff.enable(account) if active else staff.disable(account))
    except LastAdmin:
        print(f"priemnaya: {login!r} is the last enabled admin; enable or add another first",
              file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.dispose()
    if not changed:
        print(f"priemnaya: no account {login!r}", file=sys.stderr)
        return EXIT_FAILED
    released = getattr(changed, "released", 0)
    back = f"; {released} conversation(s) back in their queues" if released else ""
    print(f"{login!r} {'enabled' if active else 'disabled'}{back}")
    if held.events:
        await tell_desks(held.events, channel)
    return 0


async def tell_desks(events: list[ConversationEvent], channel: EventChannel | None) -> None:
    """The service's open desk pages hear of the released conversations at once through the
    replicas' Redis channel; without one this process cannot reach the service's, and they
    show them at their next refresh (the account's sign-in ended at once all the same: every
    request reads its session from the database)."""
    # Here, not at the top: every `priemnaya` command imports this module.
    from bots.redis_bus import LOST, publish_once, reason_of
    from bots.redis_client import redis_address

    if channel is None:
        print("note: open desk pages show them within a minute (without redis.url this "
              "command cannot tell the running service)")
        return
    try:
        listening = await publish_once(channel.url, channel.name, events)
    except LOST as exc:
        print(f"priemnaya: open desk pages could not be told through Redis at "
              f"{redis_address(channel.url)} ({reason_of(exc)}): they show them within a "
              "minute", file=sys.stderr)
        return
    print(f"open desk pages told through Redis ({listening} replica(s) listening)")


def account_refused(login: str, name: str) -> str | None:
    """Why a login or display name cannot be stored, in the CLI's words, or None."""
    problem = account_problem(login, name)
    if problem is None:
        return None
    if problem == "login":
        return f"login {login!r}: {PROBLEMS[problem]}"
    got = f" (got {len(name)})" if problem == "name_long" else ""
    return f"name: {PROBLEMS[problem]}{got}"


async def user_add(url: str, args: argparse.Namespace) -> int:
    problem = account_refused(args.login, args.name)
    if problem is not None:
        print(f"priemnaya: {problem}", file=sys.stderr)
        return EXIT_FAILED
    typed = read_password(args)
    if typed is None:
        return EXIT_FAILED
    engine = build_engine(url)
    try:
        _, password = await registry(engine).create(args.login, args.name, args.role,
                                                    datetime.now(UTC), typed)
    except LoginTaken:
        print(f"priemnaya: login {args.login!r} is taken", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.dispose()
    print(f"created {args.role} {args.login!r}")
    if not typed:
        print(f"password (shown once): {password}")
    return 0


async def user_passwd(url: str, args: argparse.Namespace) -> int:
    typed = read_password(args)
    if typed is None:
        return EXIT_FAILED
    engine = build_engine(url)
    try:
        staff = registry(engine)
        account = await staff.accounts.by_login(args.login)
        password = await staff.new_password(account, typed) if account else None
    finally:
        await engine.dispose()
    if password is None:
        print(f"priemnaya: no account {args.login!r}", file=sys.stderr)
        return EXIT_FAILED
    print(f"password of {args.login!r} changed")
    if not typed:
        print(f"password (shown once): {password}")
    return 0


async def ensure_first_admin(accounts: SqlStaffAccounts) -> str | None:
    """On the very first start, an `admin` account; its random password is returned once."""
    if await accounts.has_admin():
        return None
    password = random_password()
    try:
        await accounts.create(FIRST_ADMIN, "Администратор", Role.ADMIN, hash_password(password),
                              datetime.now(UTC))
    except LoginTaken:
        return None  # another replica made it, or a non-admin took the login
    return password
