"""The `priemnaya user` commands and the first administrator."""

from __future__ import annotations

import argparse
import io

import pytest

from bots.web.passwords import verify_password
from priemnaya.users_cli import ensure_first_admin, user_add, user_passwd
from storage.engine import build_engine, build_sessions
from storage.users import SqlStaffAccounts


def args(**kw: object) -> argparse.Namespace:
    base = {"role": "specialist", "name": "", "password_stdin": False}
    return argparse.Namespace(**{**base, **kw})


async def account(url: str, login: str):
    engine = build_engine(url)
    try:
        return await SqlStaffAccounts(build_sessions(engine)).by_login(login)
    finally:
        await engine.dispose()


async def test_add_with_random_password_prints_it_once(database_url: str, capsys) -> None:
    assert await user_add(database_url, args(login="anna", name="Анна Петровна")) == 0
    out = capsys.readouterr().out
    password = out.split("password (shown once): ")[1].strip()
    found = await account(database_url, "anna")
    assert (found.role, found.display_name) == ("specialist", "Анна Петровна")
    assert await verify_password(found.password_hash, password)
    assert await user_add(database_url, args(login="anna")) == 1
    assert "is taken" in capsys.readouterr().err


async def test_add_and_passwd_from_stdin(database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    assert await user_add(database_url, args(login="boss", role="admin",
                                             password_stdin=True)) == 0
    assert "shown once" not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    assert await user_passwd(database_url, args(login="boss", password_stdin=True)) == 0
    found = await account(database_url, "boss")
    assert await verify_password(found.password_hash, "second-password")
    assert not await verify_password(found.password_hash, "first-password")


@pytest.mark.parametrize("password", ["short\n", "\n"])
async def test_short_password_is_refused(database_url: str, monkeypatch, capsys,
                                         password: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(password))
    assert await user_add(database_url, args(login="xuser", password_stdin=True)) == 1
    assert "at least 8" in capsys.readouterr().err
    assert await account(database_url, "xuser") is None


async def test_passwd_of_unknown_login_fails(database_url: str, capsys) -> None:
    assert await user_passwd(database_url, args(login="ghost")) == 1
    assert "no account" in capsys.readouterr().err


async def test_first_admin_is_created_once(sessions) -> None:
    accounts = SqlStaffAccounts(sessions)
    password = await ensure_first_admin(accounts)
    assert password
    admin = await accounts.by_login("admin")
    assert admin.role == "admin"
    assert await verify_password(admin.password_hash, password)
    assert await ensure_first_admin(accounts) is None


def test_cli_registers_user_commands() -> None:
    from priemnaya import users_cli

    parser = argparse.ArgumentParser()
    users_cli.register(parser.add_subparsers(), None)
    parsed = parser.parse_args(["user", "add", "anna", "--role", "admin", "--name", "Анна"])
    assert (parsed.login, parsed.role, parsed.name) == ("anna", "admin", "Анна")
    assert parsed.handler is users_cli.cmd_user_add


async def test_disabled_account_cannot_sign_in_until_enabled(database_url: str, monkeypatch,
                                                            capsys) -> None:
    from priemnaya.users_cli import user_set_active

    monkeypatch.setattr("sys.stdin", io.StringIO("anna-password\n"))
    await user_add(database_url, args(login="anna", password_stdin=True))
    assert await user_set_active(database_url, "anna", False) == 0
    assert (await account(database_url, "anna")).active is False
    assert await user_set_active(database_url, "anna", True) == 0
    assert (await account(database_url, "anna")).active is True
    assert await user_set_active(database_url, "ghost", False) == 1
    assert "no account" in capsys.readouterr().err


@pytest.mark.parametrize(("login", "name", "reason"), [
    ("an", "", "3 to 64 characters"),
    ("a" * 65, "", "3 to 64 characters"),
    ("анна", "", "Latin letters"),
    ("anna petrovna", "", "Latin letters"),
    ("anna", "А" * 201, "at most 200"),
    ("anna", "Анна\nПетровна", "one line"),
])
async def test_bad_login_or_name_is_refused(database_url: str, capsys, login: str, name: str,
                                            reason: str) -> None:
    assert await user_add(database_url, args(login=login, name=name)) == 1
    assert reason in capsys.readouterr().err
    assert await account(database_url, login) is None


async def test_longest_allowed_login_and_name_are_stored(database_url: str) -> None:
    login, name = "a.b_c-" + "x" * 58, "Я" * 200
    assert await user_add(database_url, args(login=login, name=name)) == 0
    assert (await account(database_url, login)).display_name == name


async def test_the_last_enabled_admin_cannot_be_disabled(database_url: str, monkeypatch,
                                                         capsys) -> None:
    from priemnaya.users_cli import user_set_active

    for login in ("boss", "chief"):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{login}-password\n"))
        await user_add(database_url, args(login=login, role="admin", password_stdin=True))
    assert await user_set_active(database_url, "boss", False) == 0
    assert await user_set_active(database_url, "chief", False) == 1
    assert "last enabled admin" in capsys.readouterr().err
    assert (await account(database_url, "chief")).active is True
    assert await user_set_active(database_url, "boss", True) == 0
    assert await user_set_active(database_url, "chief", False) == 0


async def test_a_password_longer_than_the_sign_in_form_takes_is_refused(
        database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 201 + "\n"))
    assert await user_add(database_url, args(login="xuser", password_stdin=True)) == 1
    assert "at most 200" in capsys.readouterr().err
    assert await account(database_url, "xuser") is None
