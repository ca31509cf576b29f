"""Media state seen by the others, and nothing left behind after many joins and leaves."""

from __future__ import annotations

import asyncio
import gc
import resource
from datetime import timedelta

import pytest

from tests.browser import live_server
from tests.calls.helpers import SignalingClient, join_token, wait_for, ws_url
from tests.factories import book_walk_in
from vreception import clock

pytestmark = pytest.mark.slow



@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_mute_and_camera_off_are_shown_to_the_others(app, client, org):
    session = book_walk_in(client, org)
    room_pid, room_token = join_token(client, session, "room", "room.township")
    _, leader_token = join_token(client, session, "leader", "leader.county")

    async def scenario(base):
        leader = SignalingClient(ws_url(base, session["id"], leader_token))
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        try:
            await leader.connect()
            await room.connect()
            await wait_for(lambda: room.of_type("lobby"))
            await leader.send({"type": "admit", "participant_id": room_pid})
            await wait_for(lambda: room.of_type("admitted"))
            await room.send({"type": "media_state", "audio": False, "video": True})

            def room_as_seen():
                states = leader.of_type("state")
                return next((p for p in states[-1]["participants"] if p["id"] == room_pid), None) if states else None

            assert await wait_for(lambda: room_as_seen() and room_as_seen()["audio"] is False)
            assert room_as_seen()["video"] is True
            await room.send({"type": "media_state", "audio": False, "video": False})  # audio only → nothing
            assert await wait_for(lambda: room_as_seen()["video"] is False)
        finally:
            await room.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_many_sessions_leave_nothing_behind(app, client, org):
    calls = app.state.calls
    rss = []

    async def one_session(base):
        session = book_walk_in(client, org)
        room_pid, room_token = join_token(client, session, "room", "room.township")
        _, leader_token = join_token(client, session, "leader", "leader.county")
        leader = SignalingClient(ws_url(base, session["id"], leader_token), colour="red")
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        try:
            await leader.connect()
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"), 15), (room.messages, room.ws.close_code, room.ws.close_reason)
            await leader.send({"type": "admit", "participant_id": room_pid})
            assert await wait_for(lambda: room.received.get("video") and room.received["video"].frames > 10, 20)
            await room.close()  # a drop mid-call keeps the hub: the recording goes on
            assert await wait_for(lambda: session["id"] in calls.media.hubs and calls.media.recording(session["id"]), 5)
            await leader.send({"type": "end"})
            assert await wait_for(lambda: leader.closed.is_set(), 15)
        finally:
            await room.close()
            await leader.close()

    with live_server(app) as base:
        for _hour in range(10):
            clock.travel_to(clock.now() + timedelta(hours=1), freeze=False)  # a new walk-in each hour
            asyncio.run(one_session(base))
            assert asyncio.run(wait_for(lambda: calls.media.idle() and not (calls.listeners or calls.sockets), 15)), \
                (calls.media.hubs, calls.media.recordings, calls.media.numbers, calls.listeners, calls.sockets)
            gc.collect()
            rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    # Peak RSS settles after the first sessions; it must not keep climbing with every one.
    assert rss[-1] - rss[3] < 60_000, rss  # KiB
