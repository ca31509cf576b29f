"""A real call is recorded: listed on its session and matter, played with ranges, verified, guarded."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from recordings.probe import probe
from tests.browser import live_server
from tests.calls.helpers import SignalingClient, join_token, wait_for, ws_url
from tests.factories import book_walk_in, login
from vreception.models import AuditEvent
from vreception.models.recordings import Recording, RecordingSegment
from vreception.models.scheduling import ReceptionSession

pytestmark = pytest.mark.slow
FPS = 30



def _call(app, client, org, seconds=3.0):
    session = book_walk_in(client, org)
    room_pid, room_token = join_token(client, session, "room", "room.township")
    _, leader_token = join_token(client, session, "leader", "leader.county")

    async def scenario(base):
        leader = SignalingClient(ws_url(base, session["id"], leader_token), colour="red")
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        try:
            await leader.connect()
            await room.connect()
            await wait_for(lambda: room.of_type("lobby"))
            await leader.send({"type": "admit", "participant_id": room_pid})
            assert await wait_for(lambda: leader.received.get("video") and leader.received["video"].frames > 5, 15)
            # SECONDS of call, counted in the room's frames reaching the leader (the test camera sends 30 a second)
            until = leader.received["video"].frames + int(seconds * FPS)
            assert await wait_for(lambda: leader.received["video"].frames >= until, 3 * seconds + 10)
            await leader.send({"type": "end"})
            await wait_for(lambda: leader.closed.is_set() and room.closed.is_set())
        finally:
            await room.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))
    return session


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_recording_of_a_call_is_listed_played_and_verified(app, client, org, db, settings):
    session = _call(app, client, org)
    office = login(client, "coord.county")
    booked = client.get(f"/api/v1/sessions/{session['id']}", headers=office).json()
    assert booked["state"] == "ended" and len(booked["recordings"]) == 1
    recording = client.get(booked["recordings"][0]["url"], headers=office).json()
    assert recording["state"] == "finalised" and recording["duration_s"] > 2
    assert {s["participant_id"] for s in recording["segments"]} == {p["id"] for p in session["participants"]
                                                                    if p["role"] in ("leader", "room")}
    matter = client.get(f"/api/v1/matters/{session['matter_id']}", headers=office).json()
    assert [r["id"] for r in matter["recordings"]] == [recording["id"]]

    whole = client.get(recording["media_url"], headers=office)
    assert whole.status_code == 200 and len(whole.content) == recording["bytes"]
    part = client.get(recording["media_url"], headers={**office, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{recording['bytes']}"
    assert client.get(recording["media_url"], headers={**office, "Range": "bytes=999999999-"}).status_code == 416
    path = settings.data_dir / "combined.webm"
    path.write_bytes(whole.content)
    assert len(probe(path).of("video")) == 2  # both participants' video, one track each

    assert client.post(f"/api/v1/recordings/{recording['id']}/verify", headers=office).json() == {
        "ok": True, "problems": [], "missing": {}}  # nothing lost with a media worker
    # The matter page plays it by cookie, with seeking (Range), for those who may read the matter.
    from fastapi.testclient import TestClient

    from tests.factories import page_client

    page = page_client(app, "coord.county")
    assert f'src="/recordings/{recording["id"]}/media"' in page.get(f"/matters/{session['matter_id']}").text
    seek = page.get(f"/recordings/{recording['id']}/media", headers={"Range": "bytes=1000-"})
    assert seek.status_code == 206 and seek.content == whole.content[1000:]
    assert TestClient(app).get(f"/recordings/{recording['id']}/media").status_code in (401, 403)
    outsider = login(client, "coord.county2")
    assert client.get(recording["media_url"], headers=outsider).status_code == 403
    with db.transaction() as s:
        played = s.scalars(select(AuditEvent).where(AuditEvent.action == "recording.played")).all()
        assert len(played) == 1  # ranged re-reads (API and page) did not start new playbacks
        segment = s.scalars(select(RecordingSegment).where(RecordingSegment.recording_id == recording["id"])
                            .order_by(RecordingSegment.index)).first()
        key, index = segment.key, segment.index
    stored = settings.data_dir / "recordings" / key
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    report = client.post(f"/api/v1/recordings/{recording['id']}/verify", headers=office).json()
    assert not report["ok"] and any(f"segment {index}" in p for p in report["problems"])


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_reception_cannot_be_booked_unrecorded(app, client, org, db):
    from tests.factories import register

    headers = login(client, "coord.county")
    matter, _ = register(client, org, headers=headers)
    refused = client.post("/api/v1/sessions", headers=headers, json={
        "kind": "reception", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
        "matter_id": matter["id"], "ad_hoc": True, "reason": "现场", "record": False})
    assert refused.status_code == 422 and refused.json()["field"] == "record"
    # A hearing on state secrets is booked through its hearing (tests/hearings/test_unrecorded.py).
    with db.transaction() as s:
        assert s.scalars(select(Recording)).all() == []


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_an_early_end_frees_the_rest_of_the_booked_time(app, client, org, db):
    first = _call(app, client, org, seconds=0.5)  # ends well before its booked end
    second = book_walk_in(client, org)  # the same leader and room, now: must not conflict
    assert second["id"] != first["id"]
    from vreception.models.scheduling import Claim

    with db.transaction() as s:
        left = s.scalars(select(Claim).where(Claim.session_id == first["id"])).all()
    assert all(c.slot < s.get(ReceptionSession, first["id"]).ends_at for c in left)
