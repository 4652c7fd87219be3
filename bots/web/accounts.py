"""Staff accounts' rules and changes, shared by `priemnaya user` and the admin's staff page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bots.web.passwords import hash_password_off_loop, random_password
from handlers.event_ports import ConversationEvent, EventKind, Notifier
from storage.users import SqlStaffAccounts, SqlWebSessions, StaffAccount

# The columns: login String(64), display_name String(200). A login is typed on the sign-in
# page, so it is kept to what every keyboard layout has and nothing a browser may reshape.
LOGIN_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
MAX_NAME = 200


def account_problem(login: str, name: str) -> str | None:
    """Why a login or display name cannot be stored: "login", "name_long", "name_lines";
    or None. The CLI and the admin page word them in their own language."""
    if not LOGIN_PATTERN.fullmatch(login):
        return "login"
    if len(name) > MAX_NAME:
        return "name_long"
    if any(not ch.isprintable() for ch in name):
        return "name_lines"
    return None


@dataclass(frozen=True, slots=True)
class Disabled:
    released: int  # conversations put back in their queues


@dataclass(frozen=True, slots=True)
class StaffRegistry:
    """Creating accounts, new passwords and disabling end sessions the same way everywhere."""

    accounts: SqlStaffAccounts
    sessions: SqlWebSessions
    # Told of the conversations a disabled account leaves: every replica's desk pages (the
    # CLI holds them and publishes them on the replicas' Redis channel, if there is one).
    notifier: Notifier | None = None

    async def create(self, login: str, name: str, role: str, now: datetime,
                     password: str = "") -> tuple[int, str]:
        """The new account's id and its password (a random one unless given).

        ValueError for a bad login, name or password; storage.users.LoginTaken if taken.
        """
        problem = account_problem(login, name)
        if problem is not None:
            raise ValueError(problem)
        password = password or random_password()
        hashed = await hash_password_off_loop(password)
        return await self.accounts.create(login, name, role, hashed, now), password

    async def new_password(self, account: StaffAccount, password: str = "",
                           keep_token_hash: str = "") -> str | None:
        """Sets the password (a random one unless given) and ends the account's sessions but
        the one kept; the password, or None if the account is gone. ValueError if too short."""
        password = password or random_password()
        hashed = await hash_password_off_loop(password)
        if not await self.accounts.set_password(account.login, hashed):
            return None
        await self.sessions.drop_all_of(account.id, keep_token_hash)
        return password

    async def disable(self, account: StaffAccount) -> Disabled | None:
        """Ends its sessions and puts the conversations it had taken back in their queues'
        waiting lists (nobody else could answer them); None if there is no such account,
        storage.users.LastAdmin if no enabled admin would remain."""
        if not await self.accounts.disable(account.id):
            return None
        await self.sessions.drop_all_of(account.id)
        released = await self.accounts.release_conversations(account.id)
        for conversation_id in released:
            if self.notifier is not None:
                await self.notifier.publish(ConversationEvent(EventKind.RELEASED,
                                                              conversation_id))
        return Disabled(len(released))

    async def set_profile(self, account: StaffAccount, name: str, role: str) -> bool:
        """A new display name and role; a changed role ends the account's sessions, which
        carry the old one. ValueError for a bad name; storage.users.LastAdmin."""
        problem = account_problem(account.login, name)
        if problem is not None:
            raise ValueError(problem)
        if not await self.accounts.set_profile(account.id, name, role):
            return False
        if role != account.role:
            await self.sessions.drop_all_of(account.id)
        return True

    async def enable(self, account: StaffAccount) -> bool:
        return await self.accounts.set_active(account.login, True)
