"""Staff accounts, their web sessions and the audit log on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import State
from storage.hot_path import OPEN_STATES
from storage.models import AuditEntry, Conversation, Specialist, WebSession


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: int
    login: str
    display_name: str
    role: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class SessionRow:
    account: StaffAccount
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccountOverview:
    """A row of the admin's list of accounts."""

    account: StaffAccount
    created_at: datetime
    last_login: datetime | None  # the newest `login` in the audit log, if it is still there


class LoginTaken(Exception):
    """An account with this login already exists."""


class LastAdmin(Exception):
    """Disabling this account would leave no enabled administrator."""


def to_account(row: Specialist) -> StaffAccount:
    return StaffAccount(row.id, row.login, row.display_name, row.role, row.password_hash,
                        row.active)


class SqlStaffAccounts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def by_login(self, login: str) -> StaffAccount | None:
        """The account of a login as typed, in any case («Anna» signs in as «anna»)."""
        async with self._sessions() as s:
            row = await s.scalar(select(Specialist).where(Specialist.login == login))
            if row is None:
                rows = (await s.scalars(select(Specialist).where(
                    func.lower(Specialist.login) == login.lower()).limit(2))).all()
                row = rows[0] if len(rows) == 1 else None
            return to_account(row) if row else None

    async def by_id(self, account_id: int) -> StaffAccount | None:
        async with self._sessions() as s:
            row = await s.get(Specialist, account_id)
            return to_account(row) if row else None

    async def overview(self) -> list[AccountOverview]:
        """Every account, by login, with its last sign-in as the audit log remembers it."""
        last = (select(AuditEntry.actor, func.max(AuditEntry.at).label("at"))
                .where(AuditEntry.action == "login").group_by(AuditEntry.actor).subquery())
        async with self._sessions() as s:
            rows = await s.execute(select(Specialist, last.c.at)
                                   .outerjoin(last, last.c.actor == Specialist.login)
                                   .order_by(Specialist.login))
            return [AccountOverview(to_account(row), row.created_at, at) for row, at in rows]

    async def by_ids(self, ids: Sequence[int]) -> dict[int, StaffAccount]:
        if not ids:
            return {}
        async with self._sessions() as s:
            rows = await s.scalars(select(Specialist).where(Specialist.id.in_(ids)))
            return {r.id: to_account(r) for r in rows}

    async def create(
        self, login: str, display_name: str, role: str, password_hash: str, now: datetime
    ) -> int:
        try:
            async with self._sessions.begin() as s:
                # «ANNA» beside «anna» would be two accounts one person cannot tell apart.
                if await s.scalar(select(Specialist.id).where(
                        func.lower(Specialist.login) == login.lower()).limit(1)) is not None:
                    raise LoginTaken(login)
                row = Specialist(login=login, display_name=display_name or login, role=role,
                                 password_hash=password_hash, created_at=now)
                s.add(row)
                await s.flush()
                return int(row.id)
        except IntegrityError:
            raise LoginTaken(login) from None

    async def set_password(self, login: str, password_hash: str) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Specialist).where(Specialist.login == login)
                                     .values(password_hash=password_hash))
            return bool(getattr(result, "rowcount", 0))

    async def set_active(self, login: str, active: bool) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Specialist).where(Specialist.login == login)
                                     .values(active=active))
            return bool(getattr(result, "rowcount", 0))

    async def disable(self, account_id: int) -> bool:
        """False if there is no such account; LastAdmin if it is the last enabled admin."""
        async with self._sessions.begin() as s:
            row = await _unless_last_admin(s, account_id)
            if row is None:
                return False
            row.active = False
            return True

    async def set_profile(self, account_id: int, display_name: str, role: str) -> bool:
        """The name shown to colleagues and the role; LastAdmin if it would demote the last
        enabled admin."""
        async with self._sessions.begin() as s:
            row = await _unless_last_admin(s, account_id) if role != "admin" \
                else await s.get(Specialist, account_id)
            if row is None:
                return False
            row.display_name, row.role = display_name or row.login, role
            return True

    async def release_conversations(self, account_id: int) -> list[int]:
        """The open conversations assigned to an account, back to waiting unassigned (as the
        desk's «Вернуть в очередь» does); their ids."""
        mine = (Conversation.assigned_to == account_id) & Conversation.state.in_(OPEN_STATES)
        async with self._sessions.begin() as s:
            ids = list(await s.scalars(select(Conversation.id).where(mine)))
            if ids:
                await s.execute(update(Conversation).where(Conversation.id.in_(ids), mine)
                                .values(assigned_to=None, state=case(
                                    (Conversation.state == State.WITH_SPECIALIST,
                                     State.WAITING), else_=Conversation.state)))
            return ids

    async def has_admin(self) -> bool:
        async with self._sessions() as s:
            found = await s.scalar(select(Specialist.id).where(
                Specialist.role == "admin", Specialist.active.is_(True)).limit(1))
            return found is not None

    async def active_logins(self, logins: Sequence[str]) -> set[str]:
        """Those of logins that have an active account."""
        async with self._sessions() as s:
            return set(await s.scalars(select(Specialist.login).where(
                Specialist.login.in_(logins), Specialist.active.is_(True))))

    async def open_load(self, logins: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Active accounts among logins: login -> (id, open conversations assigned)."""
        if not logins:
            return {}
        count = (select(func.count(Conversation.id))
                 .where(Conversation.assigned_to == Specialist.id,
                        Conversation.state.in_(OPEN_STATES))
                 .scalar_subquery())
        async with self._sessions() as s:
            rows = await s.execute(select(Specialist.login, Specialist.id, count).where(
                Specialist.login.in_(logins), Specialist.active.is_(True)))
            return {login: (int(sid), int(n)) for login, sid, n in rows}


class SqlWebSessions:
    """The cookie holds a random token; only its sha256 is stored."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, specialist_id: int, token_hash: str, csrf_token: str,
                     now: datetime, expires_at: datetime) -> None:
        async with self._sessions.begin() as s:
            await s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.add(WebSession(token_hash=token_hash, specialist_id=specialist_id,
                             csrf_token=csrf_token, created_at=now, expires_at=expires_at))

    async def find(self, token_hash: str, now: datetime) -> SessionRow | None:
        async with self._sessions() as s:
            row = (await s.execute(
                select(WebSession, Specialist)
                .join(Specialist, Specialist.id == WebSession.specialist_id)
                .where(WebSession.token_hash == token_hash, WebSession.expires_at > now,
                       Specialist.active.is_(True)))).first()
            if row is None:
                return None
            session, account = row
            return SessionRow(to_account(account), session.csrf_token, session.expires_at)

    async def extend(self, token_hash: str, expires_at: datetime) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(WebSession).where(WebSession.token_hash == token_hash)
                            .values(expires_at=expires_at))

    async def drop(self, token_hash: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    async def drop_all_of(self, specialist_id: int, keep_token_hash: str = "") -> None:
        """Ends every session of the account, except the one kept (a password change)."""
        async with self._sessions.begin() as s:
            await s.execute(delete(WebSession).where(WebSession.specialist_id == specialist_id,
                                                     WebSession.token_hash != keep_token_hash))


class SqlAuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = "default") -> None:
        self._sessions = sessions
        self._institution = institution_id

    async def write(self, actor: str, action: str, now: datetime, object_type: str = "",
                    object_id: str = "", details: str = "") -> None:
        async with self._sessions.begin() as s:
            s.add(AuditEntry(institution_id=self._institution, at=now, actor=actor[:64],
                             action=action[:64], object_type=object_type[:32],
                             object_id=object_id[:64], details=details))


async def _unless_last_admin(s: AsyncSession, account_id: int) -> Specialist | None:
    """The account's row, about to stop being an enabled admin; LastAdmin if it is the last.

    The enabled admins are locked (PostgreSQL) while counted, so two administrators
    disabling or demoting each other at the same moment cannot both succeed.
    """
    admins = set((await s.scalars(
        select(Specialist.id).where(Specialist.role == "admin", Specialist.active.is_(True))
        .with_for_update())).all())
    row = await s.get(Specialist, account_id)
    if row is not None and admins <= {account_id} and account_id in admins:
        raise LastAdmin(row.login)
    return row
