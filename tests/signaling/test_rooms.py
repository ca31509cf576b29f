"""The room state machine: session states, lobby, admission, drops and rejoins, end, no-show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaling import rooms
from signaling.errors import ProtocolError
from signaling.events import ALL, Send
from signaling.messages import (
    Admit,
    Answer,
    Candidate,
    Deny,
    End,
    Join,
    Leave,
    MediaFlags,
    MediaState,
    Offer,
    Ping,
    Pong,
)

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SESSION = 42
LEADER, ROOM, PETITIONER, COORDINATOR, OBSERVER, HANDLER = 1, 2, 3, 4, 5, 6


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def kinds(transition) -> list[str]:
    return [e.kind for e in transition.events]


def sent(transition, participant_id: int) -> list[str]:
    """The types of the messages a participant's current socket receives, in order."""
    return [s.message.type for s in transition.sends if s.reaches(participant_id)]


def joined(*seats: tuple[int, str]) -> rooms.Room:
    room = rooms.new_room(SESSION)
    for i, (participant_id, role) in enumerate(seats):
        room = rooms.join(room, participant_id, role, now=at(i)).room
    return room


def test_first_join_opens_the_session_and_waits_in_the_lobby():
    t = rooms.join(rooms.new_room(SESSION), ROOM, "room", now=at(0), name="城关镇接访室")
    assert t.room.state == "open" and t.room.opened_at == at(0)
    assert kinds(t) == ["session_state_changed", "participant_joined"]
    change = t.events[0]
    assert (change.old, change.new, change.by, change.session_id) == ("booked", "open", ROOM, SESSION)
    assert sent(t, ROOM) == ["welcome", "lobby", "state"]
    welcome = t.sends[0].message
    assert (welcome.participant_id, welcome.role, welcome.session.id, welcome.session.state) == (ROOM, "room", SESSION, "open")
    state = t.sends[-1]
    assert state.to == ALL
    assert [(p.id, p.name, p.status, p.connected) for p in state.message.participants] == [(ROOM, "城关镇接访室", "lobby", True)]
    assert t.changed


def test_lobby_keeps_order_of_arrival_and_join_time():
    room = rooms.join(rooms.new_room(SESSION), PETITIONER, "petitioner", now=at(1)).room
    room = rooms.join(room, OBSERVER, "observer", now=at(2)).room
    room = rooms.join(room, ROOM, "room", now=at(3)).room
    assert [(e.participant_id, e.since) for e in room.lobby] == [(PETITIONER, at(1)), (OBSERVER, at(2)), (ROOM, at(3))]
    view = room.view()
    assert [(e.participant_id, e.since) for e in view.lobby] == [(PETITIONER, at(1)), (OBSERVER, at(2)), (ROOM, at(3))]


@pytest.mark.parametrize("role", ["leader", "coordinator"])
def test_leader_and_coordinator_are_admitted_on_joining(role):
    t = rooms.join(rooms.new_room(SESSION), LEADER, role, now=at(0))
    assert sent(t, LEADER) == ["welcome", "admitted", "state"]
    assert "participant_admitted" in kinds(t)
    admitted = next(e for e in t.events if e.kind == "participant_admitted")
    assert admitted.by is None
    assert t.room.lobby == []
    assert t.room.state == "open"  # a leader alone does not make the session live


@pytest.mark.parametrize("role", ["room", "petitioner", "hearing_member", "handler", "observer"])
def test_other_roles_wait_in_the_lobby(role):
    t = rooms.join(joined((LEADER, "leader")), 9, role, now=at(5))
    assert sent(t, 9) == ["welcome", "lobby", "state"]
    assert not t.room.participant(9).admitted and t.room.waiting(9)


def test_leader_admits_the_petitioner_side_and_the_session_goes_live():
    room = joined((ROOM, "room"), (LEADER, "leader"))
    t = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(5))
    assert t.room.state == "live" and t.room.live_at == at(5)
    assert sent(t, ROOM) == ["admitted", "state"]
    assert sent(t, LEADER) == ["state"]
    assert kinds(t) == ["participant_admitted", "session_state_changed"]
    assert t.events[0].participant_id == ROOM and t.events[0].by == LEADER
    assert (t.events[1].old, t.events[1].new, t.events[1].by) == ("open", "live", LEADER)
    assert t.room.lobby == []
    assert t.sends[-1].message.session.state == "live"
    assert {p.id: p.status for p in t.sends[-1].message.participants} == {ROOM: "admitted", LEADER: "admitted"}


def test_coordinator_may_admit_before_the_leader_arrives():
    room = joined((PETITIONER, "petitioner"), (COORDINATOR, "coordinator"))
    t = rooms.apply(room, COORDINATOR, Admit(participant_id=PETITIONER), now=at(5))
    assert t.room.state == "live"


def test_admitting_an_observer_does_not_make_the_session_live():
    room = joined((LEADER, "leader"), (OBSERVER, "observer"))
    t = rooms.apply(room, LEADER, Admit(participant_id=OBSERVER), now=at(5))
    assert t.room.participant(OBSERVER).admitted and t.room.state == "open"
    assert kinds(t) == ["participant_admitted"]


@pytest.mark.parametrize("role", ["room", "petitioner", "hearing_member", "handler", "observer"])
def test_only_a_leader_or_coordinator_may_admit(role):
    room = joined((LEADER, "leader"), (PETITIONER, "petitioner"), (9, role))
    room = rooms.apply(room, LEADER, Admit(participant_id=9), now=at(4)).room
    before = room.model_copy(deep=True)
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, 9, Admit(participant_id=PETITIONER), now=at(5))
    assert caught.value.code == "forbidden"
    assert room == before and room.waiting(PETITIONER)


def test_room_in_the_lobby_cannot_admit_itself():
    room = joined((ROOM, "room"))
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, ROOM, Admit(participant_id=ROOM), now=at(1))
    assert caught.value.code == "forbidden"


def test_admit_refusals_name_the_problem():
    room = joined((LEADER, "leader"), (PETITIONER, "petitioner"), (OBSERVER, "observer"))
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, LEADER, Admit(participant_id=99), now=at(5))
    assert caught.value.code == "invalid"
    room = rooms.apply(room, LEADER, Admit(participant_id=PETITIONER), now=at(5)).room
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, LEADER, Admit(participant_id=PETITIONER), now=at(6))
    assert caught.value.code == "illegal_state"
    room = rooms.disconnect(room, OBSERVER, now=at(7)).room
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, LEADER, Admit(participant_id=OBSERVER), now=at(8))
    assert caught.value.code == "illegal_state"


def test_deny_keeps_a_participant_waiting():
    room = joined((LEADER, "leader"), (PETITIONER, "petitioner"))
    t = rooms.apply(room, LEADER, Deny(participant_id=PETITIONER, reason="请稍候"), now=at(5))
    assert t.room.waiting(PETITIONER) and not t.room.participant(PETITIONER).admitted
    assert sent(t, PETITIONER) == ["lobby", "state"]
    assert t.sends[0].message.reason == "请稍候"
    assert kinds(t) == ["participant_denied"] and t.events[0].refused is False
    assert [e.since for e in t.room.lobby] == [at(1)]  # keeps its place


def test_deny_sends_an_admitted_participant_back_to_the_lobby():
    room = joined((LEADER, "leader"), (HANDLER, "handler"))
    room = rooms.apply(room, LEADER, Admit(participant_id=HANDLER), now=at(2)).room
    t = rooms.apply(room, LEADER, Deny(participant_id=HANDLER), now=at(3))
    assert not t.room.participant(HANDLER).admitted and t.room.waiting(HANDLER)
    assert t.room.lobby[0].since == at(3)


def test_refused_participant_is_dismissed_and_cannot_rejoin():
    room = joined((LEADER, "leader"), (OBSERVER, "observer"))
    t = rooms.apply(room, LEADER, Deny(participant_id=OBSERVER, refuse=True), now=at(5))
    assert sent(t, OBSERVER)[0] == "bye" and t.sends[0].message.reason == "refused"
    assert not t.room.participant(OBSERVER).connected and not t.room.waiting(OBSERVER)
    assert t.events[0].refused is True
    assert {p.id: p.status for p in t.room.view().participants}[OBSERVER] == "refused"
    with pytest.raises(ProtocolError) as caught:
        rooms.join(t.room, OBSERVER, "observer", now=at(6))
    assert caught.value.code == "forbidden"


def test_leaders_and_coordinators_cannot_be_denied():
    room = joined((LEADER, "leader"), (COORDINATOR, "coordinator"))
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, COORDINATOR, Deny(participant_id=LEADER, refuse=True), now=at(5))
    assert caught.value.code == "forbidden"


def test_a_drop_keeps_admission_and_rejoining_resumes_without_the_lobby():
    room = joined((ROOM, "room"), (LEADER, "leader"))
    room = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(2)).room
    dropped = rooms.disconnect(room, ROOM, now=at(3))
    assert kinds(dropped) == ["participant_disconnected"]
    assert sent(dropped, LEADER) == ["state"]
    view = {p.id: p for p in dropped.sends[0].message.participants}
    assert view[ROOM].connected is False and view[ROOM].status == "admitted"
    assert dropped.room.state == "live"

    back = rooms.join(dropped.room, ROOM, "room", now=at(4))
    assert sent(back, ROOM) == ["welcome", "admitted", "state"]
    assert kinds(back) == ["participant_joined"]  # no second admission
    assert back.events[0].resumed is True and back.events[0].admitted is True
    assert back.room.lobby == [] and back.room.state == "live"
    assert back.room.participant(ROOM).first_joined_at == at(0)


def test_a_lobby_participant_who_drops_leaves_the_queue():
    room = joined((LEADER, "leader"), (PETITIONER, "petitioner"))
    t = rooms.disconnect(room, PETITIONER, now=at(3))
    assert t.room.lobby == []
    back = rooms.join(t.room, PETITIONER, "petitioner", now=at(4))
    assert sent(back, PETITIONER) == ["welcome", "lobby", "state"]
    assert back.room.lobby[0].since == at(4)


def test_a_second_connection_replaces_the_first_and_its_late_drop_is_ignored():
    room = joined((LEADER, "leader"))
    first = room.participant(LEADER).connection
    t = rooms.join(room, LEADER, "leader", now=at(1))
    second = t.room.participant(LEADER).connection
    assert second == first + 1
    bye = t.sends[0]
    assert bye.message.type == "bye" and bye.message.reason == "replaced"
    assert bye.reaches(LEADER, first) and not bye.reaches(LEADER, second)
    welcome = t.sends[1]
    assert welcome.reaches(LEADER, second) and not welcome.reaches(LEADER, first)

    stale = rooms.disconnect(t.room, LEADER, now=at(2), connection=first)
    assert not stale.changed and stale.sends == () and stale.room.participant(LEADER).connected
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(t.room, LEADER, Ping(), now=at(2), connection=first)
    assert caught.value.code == "forbidden"
    assert rooms.disconnect(t.room, LEADER, now=at(2), connection=second).changed


def test_repeated_disconnect_changes_nothing():
    room = rooms.disconnect(joined((LEADER, "leader")), LEADER, now=at(1)).room
    t = rooms.disconnect(room, LEADER, now=at(2))
    assert not t.changed and t.events == ()
    assert not rooms.disconnect(room, 99, now=at(2)).changed


def test_leave_says_bye_and_gives_up_admission():
    room = joined((ROOM, "room"), (LEADER, "leader"))
    room = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(2)).room
    t = rooms.apply(room, ROOM, Leave(), now=at(3))
    assert sent(t, ROOM)[0] == "bye" and t.sends[0].message.reason == "left"
    assert kinds(t) == ["participant_left"]
    assert not t.room.participant(ROOM).connected and not t.room.participant(ROOM).admitted
    assert t.room.state == "live"
    again = rooms.join(t.room, ROOM, "room", now=at(4))
    assert sent(again, ROOM) == ["welcome", "lobby", "state"]


def test_leader_who_leaves_is_admitted_again_on_return():
    room = rooms.apply(joined((LEADER, "leader")), LEADER, Leave(), now=at(1)).room
    t = rooms.join(room, LEADER, "leader", now=at(2))
    assert sent(t, LEADER) == ["welcome", "admitted", "state"]


@pytest.mark.parametrize("ender", [(LEADER, "leader"), (COORDINATOR, "coordinator")])
def test_end_closes_the_session_for_everyone(ender):
    room = joined((ROOM, "room"), (LEADER, "leader"), (COORDINATOR, "coordinator"))
    room = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(3)).room
    t = rooms.apply(room, ender[0], End(), now=at(30))
    assert t.room.state == "ended" and t.room.ended_at == at(30)
    assert kinds(t) == ["session_state_changed"]
    assert (t.events[0].old, t.events[0].new, t.events[0].by) == ("live", "ended", ender[0])
    for who in (ROOM, LEADER, COORDINATOR):
        assert sent(t, who) == ["state", "bye"]
    assert t.sends[-1].to == ALL and t.sends[-1].message.reason == "ended"
    assert t.sends[0].message.session.state == "ended"
    assert not any(p.connected for p in t.room.participants)


@pytest.mark.parametrize("role", ["room", "petitioner", "hearing_member", "handler", "observer"])
def test_only_a_leader_or_coordinator_may_end(role):
    room = joined((LEADER, "leader"), (9, role))
    room = rooms.apply(room, LEADER, Admit(participant_id=9), now=at(2)).room
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, 9, End(), now=at(3))
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize("state", ["ended", "cancelled", "no_show"])
def test_joining_a_closed_session_is_refused(state):
    with pytest.raises(ProtocolError) as caught:
        rooms.join(rooms.new_room(SESSION, state=state), LEADER, "leader", now=at(0))
    assert caught.value.code == "illegal_state"


def test_join_and_messages_after_end_are_refused():
    room = joined((LEADER, "leader"), (ROOM, "room"))
    ended = rooms.apply(room, LEADER, End(), now=at(5)).room
    for participant_id, role in ((ROOM, "room"), (LEADER, "leader"), (77, "observer")):
        with pytest.raises(ProtocolError) as caught:
            rooms.join(ended, participant_id, role, now=at(6))
        assert caught.value.code == "illegal_state"
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(ended, LEADER, End(), now=at(6))
    assert caught.value.code == "illegal_state"


def test_messages_from_someone_not_joined_are_forbidden():
    room = joined((LEADER, "leader"))
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, 99, Ping(), now=at(1))
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize("message", [Offer(sdp="v=0"), Answer(sdp="v=0"), Candidate(candidate="")], ids=lambda m: m.type)
def test_media_signals_only_after_admission(message):
    room = joined((LEADER, "leader"), (PETITIONER, "petitioner"))
    with pytest.raises(ProtocolError) as caught:
        rooms.apply(room, PETITIONER, message, now=at(2))
    assert caught.value.code == "forbidden"
    room = rooms.apply(room, LEADER, Admit(participant_id=PETITIONER), now=at(3)).room
    t = rooms.apply(room, PETITIONER, message, now=at(4))
    assert t.media == ((PETITIONER, message),)
    assert t.sends == () and not t.changed


def test_media_state_is_broadcast_once_per_change():
    room = joined((LEADER, "leader"), (ROOM, "room"))
    t = rooms.apply(room, ROOM, MediaState(audio=False, video=True), now=at(2))
    assert kinds(t) == ["media_state_changed"] and (t.events[0].audio, t.events[0].video) == (False, True)
    assert sent(t, LEADER) == ["state"]
    view = {p.id: p for p in t.sends[0].message.participants}
    assert view[ROOM].audio is False and view[ROOM].video is True
    same = rooms.apply(t.room, ROOM, MediaState(audio=False, video=True), now=at(3))
    assert not same.changed and same.sends == () and same.events == ()


def test_join_message_greets_again_and_sets_media():
    room = joined((LEADER, "leader"), (ROOM, "room"))
    t = rooms.apply(room, ROOM, Join(media=MediaFlags(audio=True, video=False)), now=at(2))
    assert sent(t, ROOM) == ["state", "welcome", "lobby"]
    assert t.room.participant(ROOM).video is False
    assert [e.since for e in t.room.lobby] == [at(1)]  # still in its place


def test_ping_is_answered_with_pong_and_pong_is_ignored():
    room = joined((LEADER, "leader"))
    t = rooms.apply(room, LEADER, Ping(), now=at(1))
    assert [s.message.type for s in t.sends] == ["pong"] and t.sends[0].to == (LEADER,) and not t.changed
    t = rooms.apply(room, LEADER, Pong(), now=at(1))
    assert t.sends == () and not t.changed


def test_transitions_do_not_touch_their_input():
    room = joined((ROOM, "room"), (LEADER, "leader"))
    snapshot = room.to_json()
    rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(3))
    rooms.apply(room, LEADER, End(), now=at(3))
    rooms.disconnect(room, ROOM, now=at(3))
    rooms.join(room, OBSERVER, "observer", now=at(3))
    assert room.to_json() == snapshot


def test_room_survives_a_json_round_trip():
    room = joined((ROOM, "room"), (LEADER, "leader"), (OBSERVER, "observer"))
    room = rooms.apply(room, LEADER, Admit(participant_id=ROOM), now=at(3)).room
    assert rooms.Room.from_json(room.to_json()) == room


def test_roster_seats_booked_participants_as_away():
    room = rooms.new_room(SESSION, roster=[(LEADER, "leader", "张局长"), (ROOM, "room", "城关镇接访室")])
    assert [(p.id, p.status, p.connected) for p in room.view().participants] == [(LEADER, "away", False), (ROOM, "away", False)]
    t = rooms.join(room, ROOM, "room", now=at(0))
    assert t.room.participant(ROOM).name == "城关镇接访室"
    assert t.events[-1].resumed is False


@pytest.mark.parametrize(
    ("closing", "from_state", "ok"),
    [
        ("cancelled", "booked", True),
        ("cancelled", "open", True),
        ("no_show", "booked", True),
        ("no_show", "open", True),
        ("ended", "live", True),
        ("cancelled", "live", False),
        ("no_show", "live", False),
        ("ended", "booked", False),
        ("cancelled", "ended", False),
    ],
)
def test_closing_from_outside_follows_the_state_machine(closing, from_state, ok):
    room = rooms.new_room(SESSION, state=from_state)
    if not ok:
        with pytest.raises(ProtocolError) as caught:
            rooms.close(room, closing, now=at(10))
        assert caught.value.code == "illegal_state"
        return
    t = rooms.close(room, closing, now=at(10))
    assert t.room.state == closing
    assert (t.events[0].old, t.events[0].new, t.events[0].by) == (from_state, closing, None)
    assert [s.message.type for s in t.sends] == ["state", "bye"] and t.sends[-1].message.reason == closing


def test_cancel_dismisses_whoever_is_waiting():
    room = joined((ROOM, "room"))
    t = rooms.close(room, "cancelled", now=at(10))
    assert sent(t, ROOM) == ["state", "bye"] and t.room.lobby == [] and not t.room.participant(ROOM).connected


class TestNoShow:
    START = at(0)
    GRACE = timedelta(minutes=15)

    def decide(self, room, minutes, **kw):
        return rooms.is_no_show(room, start=self.START, grace=self.GRACE, now=at(minutes), **kw)

    def test_not_before_the_grace_period_ends(self):
        assert not self.decide(None, 14.9)
        assert self.decide(None, 15)

    def test_nobody_joined(self):
        assert self.decide(rooms.new_room(SESSION), 20)

    def test_only_the_leader_joined(self):
        room = joined((LEADER, "leader"))
        assert self.decide(room, 20)
        assert not self.decide(room, 20, petitioner_side=False)

    @pytest.mark.parametrize("role", ["room", "petitioner"])
    def test_petitioner_side_joined(self, role):
        room = joined((LEADER, "leader"), (9, role))
        assert not self.decide(room, 20)
        # Dropping again does not undo having come.
        assert not self.decide(rooms.disconnect(room, 9, now=at(3)).room, 20)

    @pytest.mark.parametrize("state", ["live", "ended", "cancelled", "no_show"])
    def test_sessions_past_open_are_not_no_shows(self, state):
        assert not self.decide(rooms.new_room(SESSION, state=state), 60)


def test_send_envelope_round_trip():
    t = rooms.join(joined((LEADER, "leader")), ROOM, "room", now=at(1))
    for send in t.sends:
        assert Send.from_envelope(send.to_envelope()) == send
