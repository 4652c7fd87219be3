"""`priemnaya user add|passwd|disable|enable`: staff accounts of the desk and admin pages."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime

from bots.web.auth import Role
from bots.web.passwords import MIN_LENGTH, hash_password, random_password
from priemnaya.cli_errors import database_errors
from storage.engine import build_engine, build_sessions
from storage.users import LoginTaken, SqlStaffAccounts, SqlWebSessions

EXIT_FAILED = 1
FIRST_ADMIN = "admin"
# The columns: login String(64), display_name String(200). A login is typed on the sign-in
# page, so it is kept to what every keyboard layout has and nothing a browser may reshape.
LOGIN_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
MAX_NAME = 200


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


def read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password and whether it was generated (and so must be shown once)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return random_password(), True


def database_url(args: argparse.Namespace) -> str:
    from priemnaya.cli import settings_from

    return settings_from(args).database.url


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
        return asyncio.run(user_set_active(url, args.login, False))


def cmd_user_enable(args: argparse.Namespace) -> int:
    url = database_url(args)
    with database_errors(url):
        return asyncio.run(user_set_active(url, args.login, True))


async def user_set_active(url: str, login: str, active: bool) -> int:
    engine = build_engine(url)
    try:
        accounts = SqlStaffAccounts(build_sessions(engine))
        account = await accounts.by_login(login)
        if account is None or not await accounts.set_active(login, active):
            print(f"priemnaya: no account {login!r}", file=sys.stderr)
            return EXIT_FAILED
        if not active:
            await SqlWebSessions(build_sessions(engine)).drop_all_of(account.id)
    finally:
        await engine.dispose()
    print(f"{login!r} {'enabled' if active else 'disabled'}")
    return 0


def _new_password(args: argparse.Namespace) -> tuple[str, bool, str] | None:
    """The password (given or generated), whether it was generated, and its hash."""
    password, generated = read_password(args)
    try:
        return password, generated, hash_password(password)
    except ValueError:
        print(f"priemnaya: the password needs at least {MIN_LENGTH} characters", file=sys.stderr)
        return None


def account_problem(login: str, name: str) -> str | None:
    """Why a login or display name cannot be stored, or None."""
    if not LOGIN_PATTERN.fullmatch(login):
        return (f"login {login!r}: 3 to 64 characters, Latin letters, digits, "
                "dot, underscore or hyphen")
    if len(name) > MAX_NAME:
        return f"name: at most {MAX_NAME} characters (got {len(name)})"
    if any(not ch.isprintable() for ch in name):
        return "name: one line of printable characters"
    return None


async def user_add(url: str, args: argparse.Namespace) -> int:
    problem = account_problem(args.login, args.name)
    if problem is not None:
        print(f"priemnaya: {problem}", file=sys.stderr)
        return EXIT_FAILED
    chosen = _new_password(args)
    if chosen is None:
        return EXIT_FAILED
    password, generated, hashed = chosen
    engine = build_engine(url)
    try:
        await SqlStaffAccounts(build_sessions(engine)).create(
            args.login, args.name, args.role, hashed, datetime.now(UTC))
    except LoginTaken:
        print(f"priemnaya: login {args.login!r} is taken", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.dispose()
    print(f"created {args.role} {args.login!r}")
    if generated:
        print(f"password (shown once): {password}")
    return 0


async def user_passwd(url: str, args: argparse.Namespace) -> int:
    chosen = _new_password(args)
    if chosen is None:
        return EXIT_FAILED
    password, generated, hashed = chosen
    engine = build_engine(url)
    try:
        accounts = SqlStaffAccounts(build_sessions(engine))
        account = await accounts.by_login(args.login)
        if account is None or not await accounts.set_password(args.login, hashed):
            print(f"priemnaya: no account {args.login!r}", file=sys.stderr)
            return EXIT_FAILED
        await SqlWebSessions(build_sessions(engine)).drop_all_of(account.id)
    finally:
        await engine.dispose()
    print(f"password of {args.login!r} changed")
    if generated:
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
