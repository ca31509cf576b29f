"""Screen share through the call server with real aiortc peers: the room may not share, the leader's screen reaches the
room as a track of its own, stopping ends it there, and the recording and its manifest hold the screen."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from recordings.probe import probe
from tests.browser import live_server
from tests.calls.helpers import SignalingClient, join_token, wait_for, ws_url
from tests.factories import book_walk_in
from tests.recordings.media_clients import COLOURS, ColourTrack, Received, centre_yuv, close_to
from tests.recordings.screen_clients import fill_screen_slot, screen_publisher
from vreception.models import AuditEvent
from vreception.models.recordings import Recording

pytestmark = pytest.mark.slow
FPS = 30


@dataclass
class ScreenClient(SignalingClient):
    """A participant that shares SCREEN when the server offers a slot, and keeps a shared screen it receives apart
    (under "screen") from the cameras ("audio", "video")."""

    screen: ColourTrack | None = None
    screen_ended: asyncio.Event | None = None

    async def _offer(self) -> None:
        await super()._offer()
        assert self.pc is not None
        apply_offer = self.pc.setRemoteDescription

        async def apply_and_fill(description) -> None:
            await apply_offer(description)
            if description.type == "offer":
                fill_screen_slot(self.pc, description.sdp, self.screen)

        self.pc.setRemoteDescription = apply_and_fill  # type: ignore[method-assign]

    def _on_track(self, track) -> None:
        if not screen_publisher(track.id).endswith("-screen"):
            super()._on_track(track)
            return
        record = self.received.setdefault("screen", Received())
        self.screen_ended = ended = asyncio.Event()

        async def consume() -> None:
            try:
                while True:
                    frame = await track.recv()
                    record.frames += 1
                    record.yuv = centre_yuv(frame)
            except Exception:
                ended.set()

        self.tasks.append(asyncio.create_task(consume()))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_leaders_screen_reaches_the_room_and_is_recorded_with_its_events(app, client, org, db):
    session = book_walk_in(client, org)
    room_pid, room_token = join_token(client, session, "room", "room.township")
    leader_pid, leader_token = join_token(client, session, "leader", "leader.county")
    seen: dict = {}

    async def scenario(base):
        leader = ScreenClient(ws_url(base, session["id"], leader_token), colour="red")
        room = ScreenClient(ws_url(base, session["id"], room_token), colour="blue")
        try:
            await leader.connect()
            await room.connect()
            await wait_for(lambda: room.of_type("lobby"))
            await leader.send({"type": "admit", "participant_id": room_pid})
            assert await wait_for(lambda: leader.received.get("video") and leader.received["video"].frames > 5, 15)
            # the room may not share (no one let it show evidence)
            await room.send({"type": "screen", "active": True})
            assert await wait_for(lambda: any(e["code"] == "forbidden" for e in room.of_type("error")))

            leader.screen = ColourTrack(COLOURS["green"], width=320, height=240)
            await leader.send({"type": "screen", "active": True})
            assert await wait_for(lambda: room.received.get("screen") and room.received["screen"].frames > 2 * FPS, 20)
            seen["screen_frames"] = room.received["screen"].frames
            seen["screen_green"] = close_to(room.received["screen"].yuv, "green")
            seen["room_camera_frames"] = leader.received["video"].frames
            seen["state_screen"] = [m["screen"] for m in room.of_type("state")][-1]
            await leader.send({"type": "screen", "active": False})
            assert await wait_for(lambda: room.screen_ended is not None and room.screen_ended.is_set(), 10)
            seen["state_after"] = [m["screen"] for m in room.of_type("state")][-1]
            until = room.received["video"].frames + FPS // 2
            assert await wait_for(lambda: room.received["video"].frames >= until, 10)  # the camera goes on
            await leader.send({"type": "end"})
            await wait_for(lambda: leader.closed.is_set() and room.closed.is_set())
        finally:
            await room.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))

    assert seen["screen_green"], seen
    assert seen["state_screen"] == {"participant_id": leader_pid} and seen["state_after"] is None
    with db.transaction() as s:
        audited = s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("call.screen_share_%")).order_by(AuditEvent.seq)
        ).all()
        recording = s.scalars(select(Recording).where(Recording.session_id == session["id"])).one()
        manifest = json.loads(recording.manifest)
        path = app.state.settings.data_dir / "recordings" / recording.media_key
    assert [(a.action, json.loads(a.data)) for a in audited] == [
        ("call.screen_share_started", {"by": leader_pid}),
        ("call.screen_share_ended", {"participant_id": leader_pid, "by": leader_pid}),
    ]
    assert all(a.actor_id == org.people["leader_county"].id for a in audited)
    events = [e for e in manifest["events"] if e["kind"].startswith("screen_share")]
    assert [(e["kind"], e["participant_id"], e["source"]) for e in events] == [
        ("screen_share_started", leader_pid, "screen"),
        ("screen_share_ended", leader_pid, "screen"),
    ]
    assert 0 < events[0]["offset_s"] < events[1]["offset_s"]
    screen = [t for t in manifest["media"]["tracks"] if t["source"] == "screen"]
    assert [(t["participant_id"], t["kind"], t["codec"]) for t in screen] == [(leader_pid, "video", "vp8")]
    found = probe(path)
    assert len(found.of("video")) == 3 and len(found.of("audio")) == 2  # two cameras and the screen; two microphones
    stream = next(s for s in found.streams if s.index == screen[0]["index"])
    assert stream.packets >= seen["screen_frames"] - 5, (stream.packets, seen)
    # the share lasted as long in the file as between its events (within a frame or two and the hub's hold)
    assert abs((stream.last - stream.first) - (events[1]["offset_s"] - events[0]["offset_s"])) < 1.0
