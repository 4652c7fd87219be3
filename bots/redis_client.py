"""Redis clients built one way: short timeouts, no retries, an address safe to log."""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# A Redis that accepts connections but never answers (packets dropped) must cost a login or an
# event at most this long. Redis answers in well under a millisecond on a LAN; 1.5 s leaves
# room for a loaded server while keeping a page's wait short.
TIMEOUT_S = 1.5


def build_redis(url: str, timeout_s: float = TIMEOUT_S) -> redis.Redis:
    """Every read, write and connect bounded; no retries, whose back-off (up to 10 s each)
    would hold the caller far longer than the timeout."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                socket_keepalive=True, retry=Retry(NoBackoff(), 0))


def redis_address(url: str) -> str:
    """host:port/db (or the socket's path), never the password: for logs and /healthz."""
    try:
        kw = parse_url(url)
    except ValueError:
        return "(an unreadable redis.url)"
    where = kw.get("path") or f"{kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
    return f"{where}/{redis_db(url)}"


def redis_db(url: str) -> int:
    try:
        return int(parse_url(url).get("db") or 0)
    except ValueError:
        return 0


async def close_redis(client: redis.Redis, timeout_s: float = TIMEOUT_S) -> None:
    """Closing waits for the sockets to close: bounded, so that a stop never hangs on it."""
    with contextlib.suppress(redis.RedisError, OSError, TimeoutError):
        async with asyncio.timeout(timeout_s):
            await client.aclose()
