"""argon2 password hashes, verified off the event loop."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
# The sign-in form reads at most this many characters (bots/web/login.py): a longer password
# would be stored whole and never match what the form passes on.
MAX_LENGTH = 200
_HASHER = PasswordHasher()
# Verified against when the login is unknown, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def password_problem(password: str) -> str | None:
    """Why a password cannot be set ("short", "long" or "blank"), or None."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    if len(set(password.strip())) < 3:  # «        », «aaaaaaaa»: guessed first
        return "blank"
    return None


def hash_password(password: str) -> str:
    if password_problem(password) is not None:
        raise ValueError(f"the password must have {MIN_LENGTH} to {MAX_LENGTH} characters")
    return _HASHER.hash(password)


async def hash_password_off_loop(password: str) -> str:
    """argon2 takes tens of milliseconds on purpose: a web request hashes in a thread."""
    return await asyncio.to_thread(hash_password, password)


def random_password() -> str:
    return secrets.token_urlsafe(12)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str, password: str) -> bool:
    """An empty stored hash (an account made from a Telegram user) never matches."""
    return await asyncio.to_thread(_verify, stored, password)
