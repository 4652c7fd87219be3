"""The client's address behind trusted reverse proxies, and login limits that use it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from bots.web.client_address import client_address, parse_networks
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from tests.bots.staff import PASSWORDS, add_staff, csrf_of
from tests.fakes import Clock, FakeFaq

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
    ("10.1.2.3", "203.0.113.5, 10.0.0.7", "203.0.113.5"),  # two trusted hops
    ("127.0.0.1", "1.1.1.1, 203.0.113.5", "203.0.113.5"),  # the client's own forgery
    ("127.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"),  # a client inside the network
    ("127.0.0.1", "not-an-address", "127.0.0.1"),
    ("127.0.0.1", "", "127.0.0.1"),
    ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not a trusted proxy: header ignored
    ("::1", "2001:db8::1", "2001:db8::1"),
    (None, "203.0.113.5", "unknown"),
])
def test_forwarded_for_is_believed_only_from_trusted_proxies(
        peer: str | None, forwarded: str, expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", ()) == "127.0.0.1"


def test_a_wrong_proxy_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_networks(["10.0.0.300"])
    with pytest.raises(ValidationError, match="not an IP address or network: 'nginx'"):
        Settings(web={"trusted_proxies": ["nginx"]})


async def attempt(c: TestClient, login: str, password: str, client_ip: str) -> int:
    page = await c.get("/login")
    r = await c.post("/login", allow_redirects=False, headers={"X-Forwarded-For": client_ip},
                     data={"login": login, "password": password, "next": "/desk/",
                           "csrf_token": csrf_of(await page.text())})
    return r.status


async def test_behind_a_proxy_one_address_is_limited_not_everyone(database_url: str) -> None:
    clock = Clock()
    settings = Settings(database={"url": database_url}, web={"trusted_proxies": ["127.0.0.1"]})
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    try:
        async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
            for n in range(30):  # the limit of one address (bots/web/ratelimit.py Limits)
                assert await attempt(c, f"guess{n}", "wrong", "203.0.113.5") == 401
            assert await attempt(c, "anna", PASSWORDS["anna"], "203.0.113.5") == 429
            # Another client behind the same proxy is not locked out with the attacker.
            assert await attempt(c, "anna", PASSWORDS["anna"], "198.51.100.7") == 303
    finally:
        await rt.engine.dispose()
