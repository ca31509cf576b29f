"""A hearing's private deliberation (合议) at the media level: nobody outside the panel receives or is recorded."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.browser import live_server
from tests.calls.deliberation_clients import Peer, join_token
from tests.calls.helpers import wait_for, ws_url
from tests.factories import make_matter, session_row
from vreception import clock
from vreception.models.recordings import Recording, RecordingSegment
from vreception.models.scheduling import Participant, SessionKind

pytestmark = pytest.mark.slow
# Frames already sent may still be decoded for a while after the hub drops a peer (on a loaded machine, seconds):
# the room and the gallery must fall quiet within SETTLE_S and then stay quiet for FLAT_S.
SETTLE_S = 20.0
FLAT_S = 2.5


def _hearing_session(db, org) -> tuple[int, dict[str, tuple[int, str]]]:
    """A recorded hearing session starting now: the chair, two panel members, the township room, a gallery seat."""
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"], state="accepted")
    with db.transaction() as s:
        booked = session_row(s, org, starts_at=clock.now(), matter_id=matter_id,
                             roles=("hearing_member", "hearing_member"), room="township")
        booked.kind = SessionKind.hearing
        booked.recorded = True
        booked.participants += [Participant(role="chair", person_id=org.people["leader_county"].id, name="主持人"),
                                Participant(role="observer", name="旁听1")]
        s.flush()
        seats = [(p.id, p.role) for p in booked.participants]
        members = [seat for seat in seats if seat[1] == "hearing_member"]
        named = {"member1": members[0], "member2": members[1],
                 **{role: (pid, role) for pid, role in seats if role in ("chair", "room", "observer")}}
        return booked.id, named


async def _quiet(peers: list[Peer], timeout: float, window: float = 0.5) -> bool:
    """Wait until none of PEERS receives a frame for WINDOW seconds; False if that does not happen in TIMEOUT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = [p.frames for p in peers]
        await asyncio.sleep(window)
        if [p.frames for p in peers] == before:
            return True
    return False


async def _grown(peers: list[Peer], seconds: float) -> dict[str, dict[str, int]]:
    """How many frames each of PEERS received from each publisher over SECONDS."""
    before = {p.name: dict(p.by_publisher) for p in peers}
    await asyncio.sleep(seconds)
    return {p.name: {k: n - before[p.name].get(k, 0) for k, n in p.by_publisher.items()
                     if n > before[p.name].get(k, 0)} for p in peers}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_deliberation_cuts_the_room_and_the_gallery_off_the_media_and_the_recording(app, org, db):
    session_id, seats = _hearing_session(db, org)
    colours = {"chair": "red", "member1": "blue", "member2": "green", "room": "blue", "observer": "red"}
    marks: dict[str, datetime] = {}

    async def scenario(base: str) -> None:
        peers = {name: Peer(name, ws_url(base, session_id, join_token(app.state.secret, session_id, pid, role)),
                            colour=colours[name], sends=name != "observer")
                 for name, (pid, role) in seats.items()}
        chair, room, observer = peers["chair"], peers["room"], peers["observer"]
        panel = [chair, peers["member1"], peers["member2"]]
        outside = [room, observer]
        try:
            await chair.connect()
            assert await wait_for(lambda: chair.of_type("admitted"), 15)
            for name in ("member1", "member2", "room", "observer"):
                await peers[name].connect()
            for name in ("member1", "member2", "room"):
                peer = peers[name]
                assert await wait_for(lambda peer=peer: peer.of_type("lobby"), 15), name
                await chair.send({"type": "admit", "participant_id": seats[name][0]})
            # Everyone receives media: the gallery seat was admitted at once, the others by the chair.
            assert await wait_for(lambda: all(p.frames > 30 for p in peers.values()), 60), \
                {p.name: p.frames for p in peers.values()}
            assert await wait_for(lambda: len(db_recordings(db, session_id)) == 1, 15)

            await chair.send({"type": "deliberation", "active": True})
            assert await wait_for(lambda: all(len(p.of_type("lobby")) >= 1 + (p is room) for p in outside), 15)
            marks["started"] = clock.now()
            assert [m.get("reason") for m in room.of_type("lobby")][-1] == "deliberation"
            assert all(p.offers == 1 for p in panel)  # the panel kept its peer connections
            assert await _quiet(outside, SETTLE_S), {p.name: p.frames for p in outside}
            marks["quiet"] = clock.now()  # the hub has dropped them by now
            # Over FLAT_S the room and the gallery get nothing while the panel still hears and sees each other.
            grown = await _grown(list(peers.values()), FLAT_S)
            assert grown["room"] == {} and grown["observer"] == {}, grown
            for peer in panel:  # each of the panel still receives every other member's media, and only theirs
                others = {str(seats[p.name][0]) for p in panel if p is not peer}
                assert set(grown[peer.name]) == others and min(grown[peer.name].values()) > 10, (peer.name, grown)

            marks["ended"] = clock.now()
            await chair.send({"type": "deliberation", "active": False})
            # Admitted again, the room and the gallery offer afresh and receive media again.
            assert await wait_for(lambda: room.offers == 2 and observer.offers == 2, 15)
            counted = {p.name: p.frames for p in outside}
            assert await wait_for(lambda: all(p.frames > counted[p.name] + 30 for p in outside), 60), \
                {p.name: p.frames - counted[p.name] for p in outside}
            await asyncio.sleep(1.0)  # a little of the room after the deliberation, in the recording

            await chair.send({"type": "end"})
            assert await wait_for(lambda: all(p.closed.is_set() for p in peers.values()), 20)
        finally:
            for peer in peers.values():
                await peer.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))

    room_id, member_ids = seats["room"][0], {seats["member1"][0], seats["member2"][0], seats["chair"][0]}
    started, quiet, ended = marks["started"], marks["quiet"], marks["ended"]
    assert wait_until_finalised(db, session_id)
    with db.transaction() as s:
        segments = s.scalars(select(RecordingSegment).join(Recording).where(Recording.session_id == session_id)
                             .order_by(RecordingSegment.index)).all()
        spans = [(seg.participant_id, seg.started_at, seg.ended_at) for seg in segments]
    # The gallery sends nothing; the room was recorded before and after, never while the panel deliberated.
    assert {pid for pid, _, _ in spans} == member_ids | {room_id}, spans
    room_spans = [(a, b) for pid, a, b in spans if pid == room_id]
    told = f"deliberation {started:%H:%M:%S.%f}-{ended:%H:%M:%S.%f}, room recorded " + ", ".join(
        f"{a:%H:%M:%S.%f}-{b:%H:%M:%S.%f}" for a, b in room_spans)
    assert any(b <= started for _, b in room_spans) and any(a >= ended for a, _ in room_spans), told
    # A segment's end is its last packet: none of the room's reaches into the deliberation.
    assert not [(a, b) for a, b in room_spans if a < ended and b > quiet], room_spans
    # Each of the panel was recorded during it (segments may split, with short gaps, when the others leave).
    for pid in member_ids:
        covered = sum(((min(b, ended) - max(a, started)).total_seconds() for p, a, b in spans
                       if p == pid and a < ended and b > started), 0.0)
        assert covered >= (ended - started).total_seconds() / 2, (pid, covered, started, ended, spans)


def db_recordings(db, session_id: int) -> list[Recording]:
    """The recordings of SESSION_ID."""
    with db.transaction() as s:
        return list(s.scalars(select(Recording).where(Recording.session_id == session_id)))


def wait_until_finalised(db, session_id: int, timeout: float = 30.0) -> bool:
    """Poll until the session's one recording is finalised (its segments are all written)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = db_recordings(db, session_id)
        if rows and all(r.state.value == "finalised" for r in rows):
            return True
        time.sleep(0.2)
    return False
