"""Which URLs a webhook may be sent to: the guard against server-side request forgery (SSRF).

A webhook makes this service send requests to an address someone typed in. In production only HTTPS to public
addresses is allowed, so an endpoint cannot reach the database, the metadata service (169.254.169.254) or any
other host of the private network; the host's addresses are checked when the endpoint is saved and again
before every request (a name may be pointed elsewhere later). Elsewhere plain http is allowed to this machine
only (a developer's or the tests' receiver on 127.0.0.1).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class RefusedUrl(ValueError):
    """The URL may not receive webhooks; the message says why, Vietnamese first then English."""


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RefusedUrl(f"Không phân giải được tên máy '{host}' / Cannot resolve host '{host}'") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, *, production: bool) -> str:
    """``url`` if it may receive webhooks, else ``RefusedUrl``. Resolves the host name in production."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError:
        raise RefusedUrl("Địa chỉ không hợp lệ / Not a valid URL") from None
    if parts.username or parts.password:
        raise RefusedUrl("Địa chỉ không được chứa tên/mật khẩu / No credentials in the URL")
    if not host:
        raise RefusedUrl("Địa chỉ thiếu tên máy / The URL has no host")
    if parts.fragment:
        raise RefusedUrl("Địa chỉ không được có phần '#' / No fragment in the URL")
    if parts.scheme == "http" and not production and host.lower() in LOCAL_NAMES:
        return url.strip()
    if parts.scheme != "https":
        raise RefusedUrl(
            "Chỉ nhận địa chỉ HTTPS (http chỉ cho localhost khi không phải môi trường thật) / "
            "HTTPS only (plain http only to localhost outside production)"
        )
    if production:
        for address in _addresses(host):
            if not address.is_global or address.is_multicast:
                raise RefusedUrl(
                    f"Địa chỉ {address} là nội bộ, không được nhận webhook / "
                    f"{address} is a private, loopback or link-local address"
                )
    return url.strip()
