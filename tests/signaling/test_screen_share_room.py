"""Screen share in the room (共享屏幕): who may share, one share at a time, and every way a share ends."""

from __future__ import annotations

import pytest

from signaling import rooms
from signaling.errors import ProtocolError
from signaling.events import ScreenShareEnded, ScreenShareStarted
from signaling.messages import AllowShow, Deny, End, Leave, Screen, parse_client_message
from tests.signaling.test_evidence_show import HANDLER, INTERPRETER, LEADER, OBSERVER, ROOM, at, call, states_to

SHARE, STOP = Screen(active=True), Screen(active=False)


def sharing(transition) -> int | None:
    state = states_to(transition, ROOM)[-1]
    return state.screen.participant_id if state.screen is not None else None


def test_the_leader_shares_everyone_is_told_and_the_start_is_an_event():
    shared = rooms.apply(call(), LEADER, SHARE, now=at(20))
    assert shared.room.screen is not None and shared.room.screen.participant_id == LEADER
    assert sharing(shared) == LEADER and states_to(shared, OBSERVER)[-1].screen is not None
    assert [type(e) for e in shared.events] == [ScreenShareStarted] and shared.events[0].by == LEADER
    # asking again changes nothing
    again = rooms.apply(shared.room, LEADER, SHARE, now=at(21))
    assert not again.changed and again.events == ()
    stopped = rooms.apply(shared.room, LEADER, STOP, now=at(30))
    assert stopped.room.screen is None and sharing(stopped) is None
    assert stopped.events == (ScreenShareEnded(session_id=42, at=at(30), participant_id=LEADER, by=LEADER),)


@pytest.mark.parametrize("who", [ROOM, OBSERVER, INTERPRETER])
def test_only_those_who_may_show_evidence_share_a_screen(who):
    with pytest.raises(ProtocolError) as refused:
        rooms.apply(call(), who, SHARE, now=at(20))
    assert refused.value.code == "forbidden" and refused.value.detail.startswith("screen share:")


def test_the_room_shares_while_allowed_and_its_share_ends_when_the_leave_is_taken_back():
    allowed = rooms.apply(call(), LEADER, AllowShow(allowed=True), now=at(15)).room
    shared = rooms.apply(allowed, ROOM, SHARE, now=at(20))
    assert sharing(shared) == ROOM
    taken_back = rooms.apply(shared.room, LEADER, AllowShow(allowed=False), now=at(30))
    assert taken_back.room.screen is None
    assert ScreenShareEnded(session_id=42, at=at(30), participant_id=ROOM, by=LEADER) in taken_back.events


def test_one_share_at_a_time_and_a_moderator_stops_anyones():
    shared = rooms.apply(call(), HANDLER, SHARE, now=at(20)).room
    with pytest.raises(ProtocolError) as busy:
        rooms.apply(shared, LEADER, SHARE, now=at(21))
    assert busy.value.code == "illegal_state"
    with pytest.raises(ProtocolError) as not_theirs:
        rooms.apply(shared, ROOM, STOP, now=at(22))
    assert not_theirs.value.code == "forbidden"
    stopped = rooms.apply(shared, LEADER, STOP, now=at(23))
    assert stopped.room.screen is None
    assert stopped.events == (ScreenShareEnded(session_id=42, at=at(23), participant_id=HANDLER, by=LEADER),)
    # a late stop (the browser's own, after the moderator's) is no error
    assert not rooms.apply(stopped.room, HANDLER, STOP, now=at(24)).changed


@pytest.mark.parametrize("how", ["disconnect", "leave", "deny", "end"])
def test_a_share_ends_when_its_sharer_goes(how):
    shared = rooms.apply(call(), HANDLER, SHARE, now=at(20)).room
    if how == "disconnect":
        gone = rooms.disconnect(shared, HANDLER, now=at(30))
        by = None
    elif how == "leave":
        gone, by = rooms.apply(shared, HANDLER, Leave(), now=at(30)), HANDLER
    elif how == "deny":
        gone, by = rooms.apply(shared, LEADER, Deny(participant_id=HANDLER), now=at(30)), LEADER
    else:
        gone, by = rooms.apply(shared, LEADER, End(), now=at(30)), None
    assert gone.room.screen is None
    assert ScreenShareEnded(session_id=42, at=at(30), participant_id=HANDLER, by=by) in gone.events


def test_the_screen_message_is_typed():
    assert parse_client_message('{"type":"screen","active":true}') == SHARE
    with pytest.raises(ProtocolError) as bad:
        parse_client_message('{"type":"screen","active":"yes"}')
    assert bad.value.code == "invalid"
