"""A shared screen with real aiortc peers: the hub offers a slot, forwards the screen without decoding to the other
party, and the recording keeps it as a video track of its own, named as the screen in the manifest."""

from __future__ import annotations

import asyncio
import json

import pytest

from recordings import service
from recordings.live import LiveRecording
from recordings.probe import decode_errors, probe
from recordings.segment import capture_of_key
from tests.recordings.conftest import make_session
from tests.recordings.media_clients import COLOURS, Client, ColourTrack, add_client, close_to, make_hub, wait_until
from tests.recordings.screen_clients import SharingClient
from vreception.models.recordings import RecordingState

pytestmark = pytest.mark.slow
FPS = 30


@pytest.fixture
def db(sqlite_db):
    # media tests run on SQLite only; the service tests cover PostgreSQL
    return sqlite_db


def _screen_frames(client: Client, sharer: str) -> int:
    return client.got(f"{sharer}-screen", "video").frames


async def _share(hub, sharer: SharingClient, viewer: Client, colour: str, frames: int) -> None:
    """SHARER shares a screen of COLOUR until VIEWER decoded FRAMES more of it; then the share ends."""
    sharer.screen = ColourTrack(COLOURS[colour], width=320, height=240)
    before = _screen_frames(viewer, sharer.name)
    hub.open_screen(sharer.name)
    assert await wait_until(
        lambda: (
            _screen_frames(viewer, sharer.name) >= before + frames
            and close_to(viewer.got(f"{sharer.name}-screen", "video").yuv, colour)
        ),
        timeout=20,
    ), viewer.received
    assert {(t["publisher"], t["capture"]) for t in hub.forwarded_tracks(viewer.name)} >= {(sharer.name, "screen")}
    offers = sharer.offers
    await hub.close_screen(sharer.name)
    sharer.screen.stop()
    # the viewer's screen track is gone at once; the sharer's slot turns inactive with one more offer
    assert all(t["capture"] == "camera" for t in hub.forwarded_tracks(viewer.name))
    assert await wait_until(lambda: sharer.offers > offers, timeout=10)
    assert [s.capture for s in hub.sources(sharer.name)].count("screen") == 0


def test_a_shared_screen_reaches_the_other_party_and_is_recorded_as_its_own_track(db, org, local_storage):
    session_id, (leader_id, room_id) = make_session(db, org)
    leader, room = str(leader_id), str(room_id)

    async def scenario():
        hub, clients = make_hub()
        live = await LiveRecording.start(
            db=db, hub=hub, session_id=session_id, storage=local_storage, segment_seconds=60
        )
        try:
            clients[leader] = sharer = SharingClient(leader, "red", 8000, hub)
            viewer = add_client(hub, clients, room, "blue", 8000)
            await sharer.join()
            await viewer.join()
            assert await wait_until(
                lambda: viewer.got(leader, "video").frames > 5 and sharer.got(room, "video").frames > 5, timeout=10
            )
            # the screen goes to the other party as it came, without decoding: the camera's codec, a capture apart
            await _share(hub, sharer, viewer, "green", frames=2 * FPS)
            # a second share later is a new slot and another file of the same track
            await _share(hub, sharer, viewer, "green", frames=FPS)
            assert viewer.got(leader, "video").frames > 3 * FPS  # the camera went on all along
            await asyncio.sleep(0.5)
            await live.stop()
        finally:
            await hub.close()
            for client in clients.values():
                await client.close()
        return live.recording_id, _screen_frames(viewer, leader)

    recording_id, screen_frames = asyncio.run(scenario())
    with db.transaction() as session:
        recording = service.get_recording(db=session, recording_id=recording_id)
        assert recording.state == RecordingState.finalised, recording.error
        assert recording.error == ""
        report = service.verify(db=session, recording=recording, storage=local_storage)
        keys = [(s.participant_id, capture_of_key(s.key)) for s in recording.segments]
        manifest = json.loads(recording.manifest)
        media_key = recording.media_key
    assert report.ok, report.problems
    # two shares: two files of the leader's screen beside each participant's camera file
    assert sorted(keys) == sorted(
        [(leader_id, "camera"), (room_id, "camera"), (leader_id, "screen"), (leader_id, "screen")]
    )
    tracks = manifest["media"]["tracks"]
    assert sorted((t["participant_id"], t["source"], t["kind"]) for t in tracks) == sorted(
        [
            (leader_id, "camera", "audio"),
            (leader_id, "camera", "video"),
            (leader_id, "screen", "video"),
            (room_id, "camera", "audio"),
            (room_id, "camera", "video"),
        ]
    )
    assert [s["source"] for s in manifest["segments"] if s["participant_id"] == leader_id].count("screen") == 2
    # between and after the shares nothing is shared: that is no gap of the recording
    assert [g for g in manifest["gaps"] if g["source"] == "screen"] == []

    combined = local_storage.local_file(media_key)
    found = probe(combined)
    assert len(found.of("video")) == 3 and len(found.of("audio")) == 2
    assert decode_errors(combined) == []
    screen = next(t for t in tracks if t["source"] == "screen")
    stream = next(s for s in found.streams if s.index == screen["index"])
    assert stream.codec == "vp8" and stream.first_is_keyframe and stream.increasing
    # every screen frame the viewer decoded is in the file (it may hold a few more the viewer had not drawn yet)
    assert screen_frames - 5 <= stream.packets <= screen_frames + 2 * FPS, (stream.packets, screen_frames)
