"""Test peers that share a screen the way call.js does: the hub offers a receive-only video m-line, the client
answers it sendonly with the screen track on it."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack

from recordings import ice
from tests.recordings.media_clients import LOOPBACK, Client, ColourTrack


def fill_screen_slot(pc: RTCPeerConnection, offer_sdp: str, screen: MediaStreamTrack | None) -> bool:
    """Put SCREEN on the new receive-only video m-line of OFFER_SDP (already applied to PC); whether one was filled."""
    if screen is None:
        return False
    slots = {
        m.rtp.muxId
        for m in aiortc_sdp.SessionDescription.parse(offer_sdp).media
        if m.kind == "video" and m.direction == "recvonly"
    }
    for transceiver in pc.getTransceivers():
        if transceiver.mid in slots and transceiver.currentDirection is None:
            transceiver.direction = "sendonly"
            transceiver.sender.replaceTrack(screen)
            return True
    return False


def screen_publisher(track_id: str) -> str:
    """Who a forwarded track comes from, as the hub names it: "<id>" for a camera, "<id>-screen" for a screen."""
    return track_id.rsplit("-", 2)[0]  # the hub names forwarded tracks <stream id>-<kind>-<n>


@dataclass(eq=False)
class SharingClient(Client):
    """A media-hub client that shares SCREEN whenever the hub offers a slot for it."""

    screen: ColourTrack | None = None

    async def handle_offer(self, sdp: str) -> None:
        """Answer a renegotiation offer from the hub, filling a screen slot if it brings one."""
        self.offers += 1
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        fill_screen_slot(self.pc, sdp, self.screen)
        answer = await self.pc.createAnswer()
        with ice.host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(answer)
        await self.hub.accept_answer(self.name, self.pc.localDescription.sdp)
