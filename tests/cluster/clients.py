"""aiortc participants that behave as the call page does: media afresh whenever the server says `admitted`, and a
dropped signaling socket joined again with the same token; one may run on an event loop in a namespace of its own
(`Elsewhere`), and one may use only the TURN relay (`relay_only`, the page's iceTransportPolicy "relay")."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import websockets
from aiortc import RTCIceTransportPolicy, RTCPeerConnection

from recordings import ice
from tests.calls.helpers import LOOPBACK, SignalingClient
from tests.cluster.network import Network

T = TypeVar("T")

# call.js: closes after which a page does not join again, and its delays between attempts.
FINAL_CLOSE_CODES = frozenset({1000, 4403, 4409, 4410})
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class FailoverClient(SignalingClient):
    """A participant that notes when each remote video frame arrives (monotonic clock) and joins again when its
    socket drops, like call.js."""

    addresses: list[str] = field(default_factory=lambda: list(LOOPBACK))  # its ICE host candidates
    tls: ssl.SSLContext | None = None
    ice_servers: list[dict] = field(default_factory=list)  # the join answer's (the TURN relay's credentials)
    relay_only: bool = False  # iceTransportPolicy "relay": only candidates the TURN server relays
    reconnect: bool = True
    video_at: list[float] = field(default_factory=list)
    offers: int = 0
    joins: list[float] = field(default_factory=list)  # when each socket opened
    drops: list[tuple[float, int | None]] = field(default_factory=list)  # when each dropped, and its close code

    async def connect(self) -> None:
        options = {"ssl": self.tls} if self.tls is not None else {}
        self.ws = await websockets.connect(self.url, open_timeout=self.open_timeout, **options)
        self.joins.append(time.monotonic())
        self.closed.clear()
        self.tasks.append(asyncio.create_task(self._read()))

    async def _read(self) -> None:
        await super()._read()
        code = getattr(self.ws, "close_code", None)
        self.drops.append((time.monotonic(), code))
        if not self.reconnect or self.of_type("bye") or code in FINAL_CLOSE_CODES:
            return
        for delay in RETRY_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                await self.connect()
                return
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                continue

    async def _offer(self) -> None:
        # call.js startMedia(): the old peer connection goes, a new one offers (whichever worker holds the call now
        # answers it)
        old, self.pc = self.pc, None
        if old is not None:
            await old.close()
        self.offers += 1
        configuration = ice.rtc_configuration(self.ice_servers)
        if self.relay_only:
            configuration.iceTransportPolicy = RTCIceTransportPolicy.RELAY
        self.pc = RTCPeerConnection(configuration)
        self._add_media(self.pc)
        self.pc.on("track", self._on_track)
        offer = await self.pc.createOffer()
        with ice.host_addresses(self.addresses):
            await self.pc.setLocalDescription(offer)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    def _on_track(self, track) -> None:
        if track.kind == "video":
            self._consume(track, lambda frame: self.video_at.append(time.monotonic()))

    def frames_since(self, since: float) -> int:
        """Video frames received after SINCE."""
        return sum(1 for at in self.video_at if at > since)

    def frames_between(self, start: float, end: float) -> int:
        """Video frames received between START and END."""
        return sum(1 for at in self.video_at if start < at <= end)

    def first_frame_after(self, since: float) -> float | None:
        """When the first video frame after SINCE arrived."""
        return next((at for at in self.video_at if at > since), None)

    def longest_pause(self, start: float, end: float) -> float:
        """The longest stretch without a video frame between START and END (seconds)."""
        times = [start, *(at for at in self.video_at if start < at < end), end]
        return max(b - a for a, b in zip(times, times[1:], strict=False))

    def selected_pair(self) -> tuple[str, tuple[str, int], tuple[str, int]] | None:
        """The media's nominated candidate pair now: (local candidate type, local address, remote address)."""
        if self.pc is None:
            return None
        transports = {t.receiver.transport for t in self.pc.getTransceivers() if t.receiver.transport is not None}
        for transport in transports:
            connection = transport.transport._connection  # aioice's, behind aiortc's RTCIceTransport
            pair = connection._nominated.get(1)
            if pair is not None:
                local = pair.local_candidate
                return local.type, (local.host, local.port), pair.remote_addr
        return None

    async def close(self) -> None:
        self.reconnect = False
        await super().close()


class Elsewhere:
    """An event loop on a thread in another host's namespace: every socket a client makes on it is that host's.

    Only its coroutines run there (`run`); reading a client's lists and flags from another thread is safe.
    """

    def __init__(self, network: Network, host: str) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        failed: list[BaseException] = []

        def body() -> None:
            try:
                network.enter(host)
            except BaseException as exc:
                failed.append(exc)
                return
            finally:
                started.set()
            asyncio.set_event_loop(self.loop)
            self.loop.run_forever()

        self.thread = threading.Thread(target=body, name=f"loop-in-{host}", daemon=True)
        self.thread.start()
        started.wait()
        if failed:
            raise failed[0]

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """COROUTINE's result, run on this loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass
class Away:
    """A FailoverClient whose sockets and media live on an Elsewhere loop; the scenario drives it from its own."""

    client: FailoverClient
    where: Elsewhere

    async def connect(self) -> None:
        await self.where.run(self.client.connect())

    async def send(self, message: dict) -> None:
        await self.where.run(self.client.send(message))

    async def close(self) -> None:
        await self.where.run(self.client.close())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
