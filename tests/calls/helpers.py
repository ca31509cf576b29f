"""A plain aiortc client speaking the documented signaling protocol, and join tokens for a booked session."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

from recordings import ice
from tests.factories import book_walk_in as book_walk_in  # re-exported: the builders live in tests/factories.py
from tests.factories import login
from tests.recordings.media_clients import COLOURS, ColourTrack, Received, ToneTrack, centre_yuv

LOOPBACK = ["127.0.0.1"]


def ws_url(base: str, session_id: int, token: str) -> str:
    """The signaling WebSocket URL of SESSION_ID on the live server at BASE."""
    return base.replace("http://", "ws://") + f"/ws/sessions/{session_id}?token={token}"


def join_token(client, session: dict, role: str, username: str) -> tuple[int, str]:
    """The participant id of ROLE and a join token for it, asked as USERNAME."""
    participant = next(p for p in session["participants"] if p["role"] == role)
    response = client.post(f"/api/v1/sessions/{session['id']}/join", headers=login(client, username),
                           json={"participant_id": participant["id"]})
    assert response.status_code == 200, response.text
    return participant["id"], response.json()["token"]


@dataclass
class SignalingClient:
    """One participant: a WebSocket to the server and, while admitted, one peer connection sending a tone and a
    colour (subclasses change what it sends and counts)."""

    url: str
    colour: str = "red"
    amplitude: int = 8000
    open_timeout: float = 5.0
    messages: list[dict] = field(default_factory=list)
    received: dict[str, Received] = field(default_factory=dict)
    ws: object = None
    pc: RTCPeerConnection | None = None
    tasks: list = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, open_timeout=self.open_timeout)
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
        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self._add_media(self.pc)
        self.pc.on("track", self._on_track)
        offer = await self.pc.createOffer()
        with ice.host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(offer)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    def _add_media(self, pc: RTCPeerConnection) -> None:
        """What this participant sends: a tone and its colour."""
        pc.addTrack(ToneTrack(self.amplitude))
        pc.addTrack(ColourTrack(COLOURS[self.colour]))

    def _on_track(self, track) -> None:
        record = self.received.setdefault(f"{track.kind}", Received())

        def count(frame) -> None:
            record.frames += 1
            if track.kind == "video":
                record.yuv = centre_yuv(frame)

        self._consume(track, count)

    def _consume(self, track, on_frame) -> None:
        """Receive TRACK's frames until it ends, handing each to ON_FRAME."""

        async def consume():
            try:
                while True:
                    on_frame(await track.recv())
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


async def wait_for(condition, timeout: float = 10.0) -> bool:
    """Poll CONDITION until true or TIMEOUT seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()
