"""Signaling peers for the deliberation test: they count the frames they receive and renegotiate when re-admitted."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from recordings import ice
from tests.recordings.media_clients import COLOURS, ColourTrack, ToneTrack
from vreception.auth import tokens

LOOPBACK = ["127.0.0.1"]


def join_token(secret: str, session_id: int, participant_id: int, role: str) -> str:
    """A join token for a seat, signed as scheduling.join signs it (hearing seats here belong to no login)."""
    token, _ = tokens.issue(secret, subject=str(participant_id), purpose="join", ttl=timedelta(minutes=10),
                            session_id=session_id, participant_id=participant_id, role=role)
    return token


@dataclass(eq=False)
class Peer:
    """One participant: a WebSocket and, while admitted, a peer connection sending media (or only receiving)."""

    name: str
    url: str
    colour: str = "red"
    sends: bool = True
    messages: list[dict] = field(default_factory=list)
    frames: int = 0  # every frame decoded from every track, over every peer connection
    by_publisher: dict[str, int] = field(default_factory=dict)  # the same, per participant id that sent them
    offers: int = 0  # peer connections offered (one per admission)
    ws: object = None
    pc: RTCPeerConnection | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, open_timeout=10)
        self.tasks.append(asyncio.create_task(self._read()))

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.messages.append(message)
                if message["type"] == "admitted":
                    await self._offer()
                elif message["type"] == "answer" and self.pc is not None:
                    await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
                elif message["type"] == "offer" and self.pc is not None:
                    await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
                    answer = await self.pc.createAnswer()
                    with ice.host_addresses(LOOPBACK):
                        await self.pc.setLocalDescription(answer)
                    await self.send({"type": "answer", "sdp": self.pc.localDescription.sdp})
                # On `lobby` the peer connection stays open on purpose: whatever still arrives, the hub forwarded.
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def _offer(self) -> None:
        # Admitted again after the lobby: a fresh peer connection, as the page's startMedia() makes one.
        if self.pc is not None:
            await self.pc.close()
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        if self.sends:
            self.pc.addTrack(ToneTrack(8000))
            self.pc.addTrack(ColourTrack(COLOURS[self.colour]))
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._on_track)
        self.offers += 1
        offer = await self.pc.createOffer()
        with ice.host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(offer)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        publisher = track.id.rsplit("-", 2)[0]  # the hub names forwarded tracks publisher-kind-n

        async def consume() -> None:
            try:
                while True:
                    await track.recv()
                    self.frames += 1
                    self.by_publisher[publisher] = self.by_publisher.get(publisher, 0) + 1
            except Exception:  # the track ended with its peer connection
                pass

        self.tasks.append(asyncio.create_task(consume()))

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.pc is not None:
            await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
