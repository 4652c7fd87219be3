"""The client's address, also behind a reverse proxy that the institution trusts.

Behind nginx every request comes from the proxy's address, so a per-address login limit
would lock every specialist out together. `web.trusted_proxies` names the proxies (addresses
or networks); from a request that one of them forwarded, X-Forwarded-For is read from the
right, past every trusted hop, and the first other address is the client's. A request from
anywhere else keeps its peer address: a forged header gains nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """"10.0.0.1", "10.0.0.0/8", "::1"; ValueError names the value that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    if not peer:
        return "unknown"
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage where the client's address should be
    return hops[0] if hops else peer
