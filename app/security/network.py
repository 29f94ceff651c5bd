"""Where the hub may send events: public unicast addresses only, unless the operator allows more.

A callback is checked twice. At registration (`CallbackPolicy.check_callback`), its host must resolve,
and only to allowed addresses. At every delivery, `GuardedNetworkBackend` resolves the host again,
checks every address, and connects to one of the checked addresses itself: a name that resolved to a
public address at registration and to 127.0.0.1 now (DNS rebinding) is refused at the connection,
before a byte is sent. TLS still verifies the certificate against the callback's host name.

`TMF629_HUB_CALLBACK_ALLOW` lists CIDRs (`127.0.0.0/8`, `10.1.0.0/16`) and host names
(`listener.internal`) that are allowed whatever they resolve to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from app.domain.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A public unicast address: not loopback, private, link-local, CGNAT, multicast, reserved or
    unspecified, nor an IPv6 form of one of those."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in CGNAT
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address) and (address.is_site_local or address.scope_id):
        return False
    return address.is_global


def _host_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


class CallbackPolicy:
    def __init__(self, allow: str = "") -> None:
        self.networks: list[IPNetwork] = []
        self.names: set[str] = set()
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.names.add(_host_name(entry))

    def allows_address(self, address: IPAddress) -> bool:
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        if any(c in network for c in candidates for network in self.networks if c.version == network.version):
            return True
        return is_public(address)

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`; ValueError saying why when there is none allowed."""
        name = _host_name(host)
        try:
            literal = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            if not self.allows_address(literal):
                raise ValueError(f"{literal} is not a public address")
            return [literal]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise ValueError(f"host '{name}' does not resolve") from error
        found: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if address not in found:
                found.append(address)
        if not found:
            raise ValueError(f"host '{name}' does not resolve")
        if name not in self.names:
            refused = [a for a in found if not self.allows_address(a)]
            if refused:
                raise ValueError(f"host '{name}' resolves to {refused[0]}, which is not a public address")
        return found

    async def check_callback(self, callback: str) -> None:
        """At registration: the callback's host resolves, only to allowed addresses (a 400 otherwise)."""
        parts = urlsplit(callback)
        assert parts.hostname is not None  # the URL was validated before
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await self.addresses(parts.hostname, port)
        except ValueError as error:
            raise Invalid(
                f"callback refused: {error} (the hub sends events only to public addresses;"
                " TMF629_HUB_CALLBACK_ALLOW lists exceptions)",
                field="callback",
            ) from None


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows (checked here, on the
    very address the socket connects to)."""

    def __init__(self, policy: CallbackPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.policy.addresses(host, port)
        except ValueError as error:
            raise httpcore.ConnectError(f"callback refused: {error}") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                last = error
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("callbacks are never Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(policy: CallbackPolicy) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through `GuardedNetworkBackend`, ignoring proxy
    variables (a proxy would connect on our behalf, to anywhere)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx has no parameter for the network backend: replace its pool with one that uses ours, built
    # the way httpx builds it (its default limits, TLS verified against certifi's authorities).
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedNetworkBackend(policy),
    )
    return transport
