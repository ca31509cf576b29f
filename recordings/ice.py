"""Offer exactly the configured host addresses as ICE candidates, loopback included."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy

# aioice discovers host addresses itself and always drops 127.0.0.1. Its discovery function
# is module-level, so the override is keyed on a context variable: only the gathering done
# inside `host_addresses(...)` (the hub's own setLocalDescription calls) is affected, and any
# other peer connection in the process keeps aioice's normal behaviour.
_addresses: ContextVar[tuple[str, ...] | None] = ContextVar("vreception_host_addresses", default=None)
_stock_get_host_addresses = aioice.ice.get_host_addresses
_stock_connection_made = aioice.ice.StunProtocol.connection_made

# One socket carries every packet of a participant. With the default receive buffer (about 200 KiB) a
# busy loop lost thousands of datagrams per minute on a loaded host, consent answers among them, and
# Chromium then tore its connection down; 2 MiB (the kernel caps it at net.core.rmem_max) lost none.
RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _addresses.get()
    if chosen is None:
        return _stock_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    versions = {4} if use_ipv4 else set()
    if use_ipv6:
        versions.add(6)
    return [address for address in chosen if ipaddress.ip_address(address).version in versions]


def _connection_made(self: aioice.ice.StunProtocol, transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    _stock_connection_made(self, transport)


def install() -> None:
    """Route aioice's host address discovery through the context override and give its sockets a large
    receive buffer (idempotent)."""
    if aioice.ice.get_host_addresses is not _get_host_addresses:
        aioice.ice.get_host_addresses = _get_host_addresses
    aioice.ice.StunProtocol.connection_made = _connection_made  # type: ignore[method-assign]


@contextlib.contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within the block, ICE gathering offers exactly ADDRESSES (None: aioice's own discovery)."""
    install()
    if addresses is not None:
        for address in addresses:
            ipaddress.ip_address(address)  # fail early on a typo, not with an empty candidate list
    token = _addresses.set(tuple(addresses) if addresses is not None else None)
    try:
        yield
    finally:
        _addresses.reset(token)


def rtc_configuration(ice_servers: Sequence[Mapping[str, Any]] = ()) -> RTCConfiguration:
    """An RTCConfiguration with exactly ICE_SERVERS (never aiortc's default public STUN) and one bundled transport."""
    servers = [
        RTCIceServer(urls=server["urls"], username=server.get("username"), credential=server.get("credential"))
        for server in ice_servers
    ]
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
