"""Signaling peers for the deliberation test: they count the frames they receive and renegotiate when re-admitted."""

from __future__ import annotations

from datetime import timedelta

from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from tests.calls.helpers import SignalingClient
from vreception.auth import tokens


def join_token(secret: str, session_id: int, participant_id: int, role: str) -> str:
    """A join token for a seat, signed as scheduling.join signs it (hearing seats here belong to no login)."""
    token, _ = tokens.issue(
        secret,
        subject=str(participant_id),
        purpose="join",
        ttl=timedelta(minutes=10),
        session_id=session_id,
        participant_id=participant_id,
        role=role,
    )
    return token


class Peer(SignalingClient):
    """One participant that sends media (or only receives) and counts every frame it receives, per publisher."""

    def __init__(self, name: str, url: str, colour: str = "red", sends: bool = True) -> None:
        super().__init__(url, colour=colour, open_timeout=10.0)
        self.name, self.sends = name, sends
        self.frames = 0  # every frame decoded from every track, over every peer connection
        self.by_publisher: dict[str, int] = {}  # the same, per participant id that sent them
        self.offers = 0  # peer connections offered (one per admission)

    async def _offer(self) -> None:
        # Admitted again after the lobby: a fresh peer connection, as the page's startMedia() makes one.
        if self.pc is not None:
            await self.pc.close()
        self.offers += 1
        await super()._offer()

    def _add_media(self, pc: RTCPeerConnection) -> None:
        if self.sends:
            super()._add_media(pc)
        else:
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")

    def _on_track(self, track: MediaStreamTrack) -> None:
        publisher = track.id.rsplit("-", 2)[0]  # the hub names forwarded tracks publisher-kind-n

        def count(_frame: object) -> None:
            self.frames += 1
            self.by_publisher[publisher] = self.by_publisher.get(publisher, 0) + 1

        self._consume(track, count)
