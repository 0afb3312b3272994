"""Who is asking, and from where: the client address behind trusted proxies, and the staff
networks rule.

The client address is `REMOTE_ADDR`, the peer that opened the connection. Only when that peer is
one of our own proxies (`MACHIBA_TRUSTED_PROXIES`) is `X-Forwarded-For` read, and then from the
right: each trusted proxy appends the address it received the request from, so the right-most
entry that is not one of ours is the first address we did not put there ourselves. Everything to
its left was written by the client and may be forged, so it is never used. (django-ipware reads
the header from the left by default and matches proxies by prefix strings rather than networks;
this rule is small enough to state exactly here.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def _address(value: str | None) -> Address | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:10.0.0.1) is the IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(
    remote_addr: str | None,
    forwarded_for: str | None,
    *,
    trusted_proxies: Iterable[str] = (),
) -> str | None:
    """The client's address as text, or None when it cannot be told.

    >>> client_address("10.0.0.2", "198.51.100.7, 203.0.113.9", trusted_proxies=["10.0.0.0/8"])
    '203.0.113.9'
    >>> client_address("203.0.113.9", "10.1.1.1", trusted_proxies=["10.0.0.0/8"])
    '203.0.113.9'
    """
    peer = _address(remote_addr)
    if peer is None:
        return None
    proxies = _networks(tuple(trusted_proxies))
    if not proxies or not _within(peer, proxies):
        return str(peer)
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A malformed entry at the edge of what we can trust: stop, do not guess past it.
            return None
        if not _within(address, proxies):
            return str(address)
    # Every hop is one of our proxies (a health check from inside): the innermost one asked.
    return str(_address(hops[0])) if hops else str(peer)


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address of a Django or DRF request (see the module docstring)."""
    if request is None:
        return None
    meta = request.META
    return client_address(
        meta.get("REMOTE_ADDR"),
        meta.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=settings.TRUSTED_PROXIES,
    )


def staff_network_allowed(address: str | None) -> bool:
    """Whether staff may work from this address (`MACHIBA_STAFF_NETWORKS`; empty = anywhere)."""
    networks = _networks(tuple(settings.STAFF_ALLOWED_NETWORKS))
    if not networks:
        return True
    parsed = _address(address)
    return parsed is not None and _within(parsed, networks)
