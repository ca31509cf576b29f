"""Offer exactly the configured host addresses as ICE candidates, loopback included."""

from __future__ import annotations

import contextlib
import ipaddress
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


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _addresses.get()
    if chosen is None:
        return _stock_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    versions = {4} if use_ipv4 else set()
    if use_ipv6:
        versions.add(6)
    return [address for address in chosen if ipaddress.ip_address(address).version in versions]


def install() -> None:
    """Route aioice's host address discovery through the context override (idempotent)."""
    if aioice.ice.get_host_addresses is not _get_host_addresses:
        aioice.ice.get_host_addresses = _get_host_addresses


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
