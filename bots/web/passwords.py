"""argon2 password hashes, verified off the event loop."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
_HASHER = PasswordHasher()
# Verified against when the login is unknown, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


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
