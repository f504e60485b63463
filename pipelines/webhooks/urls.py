"""Where a webhook may point: http(s) URLs of public hosts only (no SSRF into the platform's network).

Every address a host resolves to is checked, at creation and again before each delivery (a host
that resolved to a public address yesterday may resolve to 127.0.0.1 today: DNS rebinding), and the
delivery then connects to the address that was checked rather than resolving a second time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipelines.errors import InvalidRequestError

__all__ = [
    "MAX_URL_LENGTH",
    "IPAddress",
    "Resolver",
    "Target",
    "UnresolvableHostError",
    "check_url",
    "is_public_address",
    "resolve_host",
]

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as strings.
Resolver = Callable[[str, int], Sequence[str]]


class UnresolvableHostError(InvalidRequestError):
    """The URL's host does not resolve (now): refused at creation, retried at delivery."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its parts and the addresses its host resolved to, every one allowed."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host`` (TCP), in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, shared and unspecified addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = resolve_host) -> Target:
    """``url`` parsed and its host resolved; InvalidRequestError when it may not be called.

    Only ``http`` and ``https`` with a host and no credentials are accepted; unless
    ``allow_private``, every resolved address must be public (``is_public_address``).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequestError("webhook url must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequestError(f"webhook url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidRequestError(f"webhook url {url!r} is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidRequestError(f"webhook url must use http or https, not {scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise InvalidRequestError(f"webhook url {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequestError("webhook url must not carry credentials; sign with the secret instead")
    port = port or (443 if scheme == "https" else 80)
    addresses = _addresses(host, port, resolver)
    if not allow_private:
        refused = [str(a) for a in addresses if not is_public_address(a)]
        if refused:
            raise InvalidRequestError(
                f"webhook host {host!r} resolves to a private, loopback or reserved address "
                f"({', '.join(refused)}); only public addresses may receive webhooks"
            )
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, addresses=addresses)


def _addresses(host: str, port: int, resolver: Resolver) -> tuple[IPAddress, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHostError(f"webhook host {host!r} does not resolve ({exc})") from None
    if not found:
        raise UnresolvableHostError(f"webhook host {host!r} does not resolve")
    # A scoped IPv6 address comes back as "fe80::1%eth0"; the scope does not change its class.
    return tuple(ipaddress.ip_address(a.split("%", 1)[0]) for a in found)
