"""The client's IP address for rate limits, believing ``X-Forwarded-For`` only from trusted proxies.

The TCP peer is the client unless it is one of ``TRUSTED_PROXIES`` (default none). Behind trusted proxies the
client is the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy: each proxy appends
the peer it saw, so everything left of that address was written by the client and may be forged. The server
must hand the app the real TCP peer (Granian does not rewrite it; uvicorn's ``proxy_headers`` must stay off),
so this module is the only place a forwarded header is read.

``TRUSTED_PROXIES`` is parsed by ``backend.settings.parse_networks`` (the settings check it at start).
"""

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from backend.settings import Network
from backend.settings import parse_networks as parse_networks  # callers read it here, beside client_ip

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@functools.lru_cache(maxsize=4096)  # every request parses its peer: the same few strings, immutable results
def parse_address(raw: str) -> Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1``, ``[::1]:80``; None otherwise."""
    value = raw.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port (an IPv6 address has several colons)
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]) -> str:
    """The client's address: ``peer`` (the TCP peer) unless it is a trusted proxy, then the right-most entry of
    the ``X-Forwarded-For`` header values (in the order received) that is not a trusted proxy. An entry that is
    not an address ends the walk at the last trusted hop (it was not written by a proxy we trust)."""
    peer_address = parse_address(peer) if peer else None
    if not _trusted(peer_address, proxies):
        return str(peer_address) if peer_address is not None else UNKNOWN
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    last = peer_address
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        if not _trusted(address, proxies):
            return str(address)
        last = address
    # Every hop was a trusted proxy (or the header was missing or broken): the nearest one we can vouch for.
    return str(last)


def request_client_ip(request: Any, proxies: Sequence[Network]) -> str:
    """``client_ip`` of a Litestar request (or any ASGI connection with ``client`` and ``headers``)."""
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers.getall("x-forwarded-for", []), proxies)


def caller_ip(request: Any) -> str:
    """The caller's address as this app sees it, for rate limits, audit rows and account events alike:
    ``request_client_ip`` with the app's trusted proxies (parsed once by ``create_app``)."""
    return request_client_ip(request, getattr(request.app.state, "trusted_proxies", ()))[:45]
