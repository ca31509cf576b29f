"""What each role may do in a call: moderators run the lobby and mute, an observer only watches (server-enforced)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiortc import RTCPeerConnection

from recordings import ice
from signaling import rooms
from signaling.errors import ProtocolError
from signaling.messages import Admit, Answer, Deny, End, Mute, Offer
from signaling.roles import CAPABILITIES, MODERATORS, PUBLISHERS, ROLES, can
from tests.browser import live_server
from tests.calls.helpers import LOOPBACK, SignalingClient, book_walk_in, join_token, wait_for, ws_url
from tests.conftest import login
from tests.recordings.media_clients import centre_yuv, close_to

T0 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
LEADER, ROOM, CHAIR, OBSERVER, MEMBER = 1, 2, 3, 4, 5
SEND = "v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n"
RECEIVE = ("v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n")
NO_DIRECTION = "v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seated(*seats: tuple[int, str]) -> rooms.Room:
    room = rooms.new_room(7)
    for i, (pid, role) in enumerate(seats):
        room = rooms.join(room, pid, role, now=at(i)).room
    return room


def test_the_capability_table():
    assert {r for r in ROLES if can(r, "moderate")} == MODERATORS == {"leader", "coordinator", "chair"}
    assert {r for r in ROLES if can(r, "publish")} == PUBLISHERS == set(ROLES) - {"observer"}
    assert all(can(r, "receive") for r in ROLES) and set(CAPABILITIES) == set(ROLES)
    assert not can("emperor", "receive")


def test_a_chair_runs_a_hearing_lobby_and_may_not_be_denied():
    room = seated((CHAIR, "chair"), (MEMBER, "hearing_member"), (ROOM, "room"))
    assert room.participant(CHAIR).admitted  # a moderator needs nobody to let them in
    room = rooms.apply(room, CHAIR, Admit(participant_id=MEMBER), now=at(5)).room
    t = rooms.apply(room, CHAIR, Admit(participant_id=ROOM), now=at(6))
    assert t.room.state == "live"
    with pytest.raises(ProtocolError) as refused:
        rooms.apply(t.room, MEMBER, Deny(participant_id=CHAIR), now=at(7))
    assert refused.value.code == "forbidden"
    assert rooms.apply(t.room, CHAIR, End(), now=at(8)).room.state == "ended"


def test_moderators_mute_others_who_alone_unmute():
    room = seated((LEADER, "leader"), (ROOM, "room"))
    room = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(3)).room
    t = rooms.apply(room, LEADER, Mute(participant_id=ROOM), now=at(4))
    assert not t.room.participant(ROOM).audio and t.room.participant(ROOM).video
    to_room = [s.message for s in t.sends if s.reaches(ROOM)]
    assert Mute(participant_id=ROOM) in to_room
    assert [e.kind for e in t.events] == ["media_state_changed"]
    with pytest.raises(ProtocolError) as refused:
        rooms.apply(t.room, ROOM, Mute(participant_id=LEADER), now=at(5))
    assert refused.value.code == "forbidden"


def test_an_observer_receives_but_an_offer_that_sends_is_refused():
    room = seated((LEADER, "leader"), (OBSERVER, "observer"))
    room = rooms.apply(room, LEADER, Admit(participant_id=OBSERVER), now=at(3)).room
    for sdp in (SEND, NO_DIRECTION):
        for message in (Offer(sdp=sdp), Answer(sdp=sdp)):
            with pytest.raises(ProtocolError) as refused:
                rooms.apply(room, OBSERVER, message, now=at(4))
            assert refused.value.code == "forbidden" and "receives only" in refused.value.detail
    t = rooms.apply(room, OBSERVER, Offer(sdp=RECEIVE), now=at(5))
    assert [m.participant_id for m in t.media] == [OBSERVER]
    assert rooms.apply(room, LEADER, Offer(sdp=SEND), now=at(6)).media  # everyone else publishes


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_an_observer_sees_the_call_over_a_receive_only_connection(app, client, org):
    session = book_walk_in(client, org, extra_participants=[{"role": "observer",
                                                             "person_id": org.people["coord_province"].id}])
    observer_seat = next(p for p in session["participants"] if p["role"] == "observer")
    token = client.post(f"/api/v1/sessions/{session['id']}/join", headers=login(client, "coord.province"),
                        json={"participant_id": observer_seat["id"]}).json()["token"]
    _, leader_token = join_token(client, session, "leader", "leader.county")

    async def scenario(base):
        leader = SignalingClient(ws_url(base, session["id"], leader_token), colour="red")
        observer = SignalingClient(ws_url(base, session["id"], token))
        seen: dict = {}
        pc = RTCPeerConnection(ice.rtc_configuration([]))
        try:
            await leader.connect()
            await observer.connect()
            assert await wait_for(lambda: observer.of_type("lobby"))
            await leader.send({"type": "admit", "participant_id": observer_seat["id"]})
            assert await wait_for(lambda: observer.of_type("admitted"))
            # The test client offers its camera on admission: refused, nothing reaches the media side.
            assert await wait_for(lambda: [m for m in observer.of_type("error") if "receives only" in m["detail"]])
            assert observer.of_type("error")[0]["code"] == "forbidden" and not observer.of_type("answer")
            await observer.pc.close()
            # Offering to receive only works: the leader's camera arrives.
            observer.pc = pc
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")

            @pc.on("track")
            def on_track(track):
                async def consume():
                    while True:
                        frame = await track.recv()
                        if track.kind == "video":
                            seen["video"] = centre_yuv(frame)

                observer.tasks.append(asyncio.create_task(consume()))

            offer = await pc.createOffer()
            with ice.host_addresses(LOOPBACK):
                await pc.setLocalDescription(offer)
            await observer.send({"type": "offer", "sdp": pc.localDescription.sdp})
            assert await wait_for(lambda: close_to(seen.get("video"), "red"), timeout=20)
        finally:
            await observer.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))
