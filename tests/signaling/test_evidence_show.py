"""Showing evidence in the call (证据展示): who may show, page turns reach everyone, the room only when allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaling import rooms
from signaling.errors import ProtocolError
from signaling.messages import Admit, AllowShow, Show, ShowEnd, parse_client_message
from signaling.roles import can

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
SESSION = 42
LEADER, ROOM, HANDLER, OBSERVER, CHAIR, INTERPRETER = 1, 2, 6, 5, 7, 8
DOC = "doc:12"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call() -> rooms.Room:
    """A live call: the leader, the room, a handler, an observer and an interpreter, all admitted."""
    room = rooms.new_room(SESSION)
    for i, (pid, role) in enumerate([(LEADER, "leader"), (ROOM, "room"), (HANDLER, "handler"), (OBSERVER, "observer"),
                                     (INTERPRETER, "interpreter")]):
        room = rooms.join(room, pid, role, now=at(i)).room
    for pid in (ROOM, HANDLER, OBSERVER, INTERPRETER):
        room = rooms.apply(room, LEADER, Admit(participant_id=pid), now=at(10)).room
    assert room.state == "live"
    return room


def states_to(transition, participant_id: int):
    return [s.message for s in transition.sends if s.reaches(participant_id) and s.message.type == "state"]


def test_show_capability_is_for_leader_chair_coordinator_handler():
    assert {r for r in ("leader", "chair", "coordinator", "handler", "room", "petitioner", "observer", "interpreter",
                        "recorder") if can(r, "show")} == {"leader", "chair", "coordinator", "handler"}


def test_the_leader_shows_and_everyone_sees_page_1_then_page_2():
    room = call()
    shown = rooms.apply(room, LEADER, Show(item=DOC, page=1, pages=2), now=at(20))
    for viewer in (ROOM, HANDLER, OBSERVER, INTERPRETER, LEADER):
        (state,) = states_to(shown, viewer)
        assert state.showing is not None
        assert (state.showing.participant_id, state.showing.item, state.showing.page, state.showing.pages) == \
               (LEADER, DOC, 1, 2)
    (event,) = shown.events
    assert (event.kind, event.by, event.item, event.page, event.at) == ("evidence_shown", LEADER, DOC, 1, at(20))

    turned = rooms.apply(shown.room, LEADER, Show(item=DOC, page=2, pages=2), now=at(30))
    (state,) = states_to(turned, ROOM)
    assert state.showing.page == 2 and turned.room.showing.since == at(20)  # the same showing, another page
    assert [(e.kind, e.page) for e in turned.events] == [("evidence_shown", 2)]

    # the same page again changes nothing and sends nothing
    again = rooms.apply(turned.room, LEADER, Show(item=DOC, page=2, pages=2), now=at(31))
    assert not again.changed and not again.sends and not again.events

    ended = rooms.apply(turned.room, LEADER, ShowEnd(), now=at(40))
    assert ended.room.showing is None and states_to(ended, ROOM)[0].showing is None
    assert [(e.kind, e.item) for e in ended.events] == [("evidence_ended", DOC)]


def test_a_handler_shows_but_the_room_interpreter_and_observer_may_not():
    room = call()
    assert rooms.apply(room, HANDLER, Show(item="att:3"), now=at(20)).room.showing.participant_id == HANDLER
    for pid in (ROOM, INTERPRETER, OBSERVER):
        with pytest.raises(ProtocolError) as refused:
            rooms.apply(room, pid, Show(item=DOC), now=at(20))
        assert refused.value.code == "forbidden"


def test_only_the_one_showing_turns_pages_others_take_over():
    room = rooms.apply(call(), HANDLER, Show(item="att:3", page=1, pages=3), now=at(20)).room
    # the leader showing the same item is a new showing of their own, replacing the handler's
    taken = rooms.apply(room, LEADER, Show(item="att:3", page=2, pages=3), now=at(21))
    assert [e.kind for e in taken.events] == ["evidence_ended", "evidence_shown"]
    assert taken.room.showing.participant_id == LEADER
    # the handler may not stop someone else's showing; a moderator may
    with pytest.raises(ProtocolError):
        rooms.apply(taken.room, HANDLER, ShowEnd(), now=at(22))
    assert rooms.apply(room, LEADER, ShowEnd(), now=at(22)).room.showing is None


def test_the_room_shows_only_while_a_moderator_allows_it():
    room = call()
    with pytest.raises(ProtocolError):
        rooms.apply(room, ROOM, Show(item="upload:9:" + "0" * 64), now=at(20))
    with pytest.raises(ProtocolError):
        rooms.apply(room, HANDLER, AllowShow(allowed=True), now=at(20))  # not a moderator
    allowed = rooms.apply(room, LEADER, AllowShow(allowed=True), now=at(21))
    assert allowed.room.room_may_show and states_to(allowed, ROOM)[0].room_may_show
    assert [(e.kind, e.allowed) for e in allowed.events] == [("room_show_allowed", True)]
    shown = rooms.apply(allowed.room, ROOM, Show(item="upload:9:" + "0" * 64), now=at(22))
    assert shown.room.showing.participant_id == ROOM
    # taking it back ends the room's showing for everyone
    revoked = rooms.apply(shown.room, LEADER, AllowShow(allowed=False), now=at(23))
    assert revoked.room.showing is None and states_to(revoked, OBSERVER)[0].showing is None
    with pytest.raises(ProtocolError):
        rooms.apply(revoked.room, ROOM, Show(item=DOC), now=at(24))


def test_showing_needs_admission_and_a_valid_page():
    room = rooms.new_room(SESSION)
    room = rooms.join(room, LEADER, "leader", now=at(0)).room
    room = rooms.join(room, HANDLER, "handler", now=at(1)).room  # waits in the lobby
    with pytest.raises(ProtocolError):
        rooms.apply(room, HANDLER, Show(item=DOC), now=at(2))
    with pytest.raises(ProtocolError) as beyond:
        rooms.apply(room, LEADER, Show(item=DOC, page=3, pages=2), now=at(2))
    assert beyond.value.code == "invalid"
    with pytest.raises(ProtocolError):
        rooms.apply(room, LEADER, ShowEnd(), now=at(2))  # nothing shown


@pytest.mark.parametrize("raw", [
    '{"type":"show","item":"../etc/passwd"}',
    '{"type":"show","item":"doc:1","page":0}',
    '{"type":"show","item":"upload:1:abc"}',
    '{"type":"show","item":"doc:1","extra":1}',
])
def test_bad_show_messages_are_invalid(raw):
    with pytest.raises(ProtocolError) as refused:
        parse_client_message(raw)
    assert refused.value.code == "invalid"


def test_the_showing_survives_the_shared_store():
    room = rooms.apply(call(), LEADER, Show(item=DOC, page=2, pages=2), now=at(20)).room
    assert rooms.Room.from_json(room.to_json()).showing == room.showing
