"""A hearing's room: the order of proceedings, the floor, the private deliberation (合议), witnesses, the gallery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from signaling import rooms
from signaling.errors import ProtocolError
from signaling.messages import (
    Admit,
    Agenda,
    AgendaStepName,
    Deliberation,
    GiveFloor,
    Leave,
    MediaState,
    Offer,
    ParticipantView,
    SessionInfo,
    State,
    TakeFloor,
)
from signaling.redact import for_gallery
from signaling.roles import DELIBERATES, NAMED_ROLES, ROLES, can
from vreception.models.hearings import AgendaStep

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
SESSION = 42
CHAIR, MEMBER1, MEMBER2, HANDLER, ROOM, PETITIONER, RECORDER, WITNESS, VIEWER, COORDINATOR = range(1, 11)
ROSTER = [(CHAIR, "chair", "王主持"), (MEMBER1, "hearing_member", "李律师"), (MEMBER2, "hearing_member", "赵代表"),
          (HANDLER, "handler", "钱科长"), (ROOM, "room", "城关镇接访室"), (PETITIONER, "petitioner", "张三"),
          (RECORDER, "recorder", "孙记录"), (WITNESS, "witness", "周证人"), (VIEWER, "observer", "旁听1"),
          (COORDINATOR, "coordinator", "吴干事")]
ROLE_OF = {i: r for i, r, _ in ROSTER}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sent(transition, participant_id: int) -> list[str]:
    return [s.message.type for s in transition.sends if s.reaches(participant_id)]


def kinds(transition) -> list[str]:
    return [e.kind for e in transition.events]


def hearing_in_session() -> rooms.Room:
    """Chair, panel, handler, room, recorder in the call; the gallery viewer auto-admitted; the witness waiting."""
    room = rooms.new_room(SESSION, "booked", ROSTER, hearing=True)
    for i, (pid, role, name) in enumerate(ROSTER):
        if pid == PETITIONER:
            continue  # sits in the room: the kiosk's camera is theirs
        room = rooms.join(room, pid, role, now=at(i), name=name, auto_admit=pid == VIEWER).room
    for pid in (MEMBER1, MEMBER2, HANDLER, ROOM, RECORDER):
        room = rooms.apply(room, CHAIR, Admit(participant_id=pid), now=at(20)).room
    return room


def status(room: rooms.Room) -> dict[int, str]:
    return {p.id: p.status for p in room.view().participants}


def test_the_agenda_steps_are_those_of_the_hearing_model():
    assert set(get_args(AgendaStepName)) == {s.value for s in AgendaStep}


def test_a_witness_publishes_waits_and_never_moderates_or_shows():
    assert "witness" in ROLES and "witness" in NAMED_ROLES
    assert can("witness", "publish") and not can("witness", "moderate") and not can("witness", "show")
    room = hearing_in_session()
    assert status(room)[WITNESS] == "lobby"
    with pytest.raises(ProtocolError) as refused:
        rooms.apply(room, WITNESS, Admit(participant_id=HANDLER), now=at(30))
    assert refused.value.code == "forbidden"
    admitted = rooms.apply(room, CHAIR, Admit(participant_id=WITNESS), now=at(30)).room
    assert status(admitted)[WITNESS] == "admitted"


def test_the_chair_moves_the_agenda_and_everyone_sees_the_step():
    room = hearing_in_session()
    assert room.view().agenda_step is None
    t = rooms.apply(room, CHAIR, Agenda(step="petitioner_states"), now=at(30))
    assert t.room.agenda_step == "petitioner_states"
    assert kinds(t) == ["agenda_changed"]
    event = t.events[0]
    assert (event.by, event.step, event.at) == (CHAIR, "petitioner_states", at(30))
    states = [s.message for s in t.sends if s.message.type == "state"]
    assert states and states[-1].agenda_step == "petitioner_states"
    assert all("state" in sent(t, pid) for pid in (HANDLER, VIEWER, ROOM, WITNESS))
    # The same step again changes nothing (no second agenda entry).
    again = rooms.apply(t.room, CHAIR, Agenda(step="petitioner_states"), now=at(31))
    assert not again.events and not again.changed


def test_only_a_moderator_runs_the_agenda_and_only_in_a_hearing():
    room = hearing_in_session()
    for pid in (MEMBER1, HANDLER, ROOM, VIEWER):
        with pytest.raises(ProtocolError) as refused:
            rooms.apply(room, pid, Agenda(step="opening"), now=at(30))
        assert refused.value.code == "forbidden"
    reception = rooms.join(rooms.new_room(7), 1, "leader", now=at(0)).room
    with pytest.raises(ProtocolError) as not_hearing:
        rooms.apply(reception, 1, Agenda(step="opening"), now=at(1))
    assert not_hearing.value.code == "illegal_state"


def test_a_hearing_room_starts_at_its_stored_step():
    room = rooms.new_room(SESSION, "open", ROSTER, hearing=True, agenda_step="cross_examination")
    assert room.view().agenda_step == "cross_examination"


def test_giving_the_floor_unmutes_the_speaker_and_mutes_the_previous_one():
    room = hearing_in_session()
    t = rooms.apply(room, CHAIR, GiveFloor(participant_id=HANDLER), now=at(30))
    assert t.room.floor == HANDLER and t.room.view().floor == HANDLER
    assert "floor" in sent(t, HANDLER) and "floor" not in sent(t, ROOM)
    assert [(e.kind, e.participant_id) for e in t.events] == [("floor_changed", HANDLER)]
    t = rooms.apply(t.room, HANDLER, MediaState(audio=True, video=True), now=at(31))
    t = rooms.apply(t.room, CHAIR, GiveFloor(participant_id=ROOM), now=at(32))
    assert t.room.floor == ROOM
    assert "mute" in sent(t, HANDLER)
    assert not t.room.participant(HANDLER).audio
    taken = rooms.apply(t.room, CHAIR, TakeFloor(), now=at(33))
    assert taken.room.floor is None and not taken.room.participant(ROOM).audio
    assert "mute" in sent(taken, ROOM)
    with pytest.raises(ProtocolError) as nobody:
        rooms.apply(taken.room, CHAIR, TakeFloor(), now=at(34))
    assert nobody.value.code == "illegal_state"


def test_the_floor_is_for_moderators_to_give_to_speakers_in_the_call():
    room = hearing_in_session()
    with pytest.raises(ProtocolError) as member:
        rooms.apply(room, MEMBER1, GiveFloor(participant_id=HANDLER), now=at(30))
    assert member.value.code == "forbidden"
    with pytest.raises(ProtocolError) as viewer:
        rooms.apply(room, CHAIR, GiveFloor(participant_id=VIEWER), now=at(30))
    assert viewer.value.code == "forbidden"
    with pytest.raises(ProtocolError) as waiting:
        rooms.apply(room, CHAIR, GiveFloor(participant_id=WITNESS), now=at(30))
    assert waiting.value.code == "illegal_state"


def test_deliberation_holds_everyone_but_the_chair_and_the_panel_in_the_lobby():
    room = rooms.apply(hearing_in_session(), CHAIR, GiveFloor(participant_id=HANDLER), now=at(29)).room
    t = rooms.apply(room, CHAIR, Deliberation(active=True), now=at(30))
    held = {HANDLER, ROOM, RECORDER, VIEWER, COORDINATOR}
    assert set(t.room.held) == held
    assert t.room.deliberating and t.room.view().deliberating and t.room.floor is None
    st = status(t.room)
    assert {pid for pid, s in st.items() if s == "admitted"} == {CHAIR, MEMBER1, MEMBER2}
    for pid in held:
        assert "lobby" in sent(t, pid)
        lobby = next(s.message for s in t.sends if s.reaches(pid) and s.message.type == "lobby")
        assert lobby.reason == rooms.DELIBERATION_REASON
    # The media side drops everyone held through the same event as sending one back to the lobby.
    denied = {e.participant_id for e in t.events if e.kind == "participant_denied"}
    assert denied == held
    assert all(not e.refused for e in t.events if e.kind == "participant_denied")
    assert t.events[-1].kind == "deliberation_changed" and set(t.events[-1].held) == held
    # Nobody held may send media meanwhile.
    with pytest.raises(ProtocolError):
        rooms.apply(t.room, ROOM, Offer(sdp="v=0\r\n"), now=at(31))
    # A held coordinator may not moderate from the lobby.
    with pytest.raises(ProtocolError) as coordinator:
        rooms.apply(t.room, COORDINATOR, Admit(participant_id=ROOM), now=at(31))
    assert coordinator.value.code == "forbidden"


def test_during_deliberation_only_the_panel_may_be_admitted():
    room = rooms.apply(hearing_in_session(), CHAIR, Deliberation(active=True), now=at(30)).room
    for pid in (ROOM, WITNESS, HANDLER):
        with pytest.raises(ProtocolError) as refused:
            rooms.apply(room, CHAIR, Admit(participant_id=pid), now=at(31))
        assert refused.value.code == "illegal_state"
    # A panel member who dropped out and returns gets in.
    room = rooms.disconnect(room, MEMBER2, now=at(31)).room
    back = rooms.join(room, MEMBER2, "hearing_member", now=at(32), name="赵代表").room
    assert status(back)[MEMBER2] == "admitted"
    # A gallery viewer or a coordinator joining now waits, and is let in when the deliberation ends.
    late = rooms.join(back, VIEWER, "observer", now=at(33), auto_admit=True).room
    assert status(late)[VIEWER] == "lobby" and VIEWER in late.held
    coordinator = rooms.disconnect(late, COORDINATOR, now=at(34)).room
    coordinator = rooms.join(coordinator, COORDINATOR, "coordinator", now=at(35), name="吴干事")
    assert status(coordinator.room)[COORDINATOR] == "lobby"
    lobby = next(s.message for s in coordinator.sends if s.reaches(COORDINATOR) and s.message.type == "lobby")
    assert lobby.reason == rooms.DELIBERATION_REASON


def test_ending_the_deliberation_readmits_everyone_held():
    room = rooms.apply(hearing_in_session(), CHAIR, Deliberation(active=True), now=at(30)).room
    # The room dropped during the deliberation; the recorder left on purpose.
    room = rooms.disconnect(room, ROOM, now=at(31)).room
    room = rooms.apply(room, RECORDER, Leave(), now=at(32)).room
    t = rooms.apply(room, CHAIR, Deliberation(active=False), now=at(40))
    assert not t.room.deliberating and t.room.held == []
    for pid in (HANDLER, VIEWER, COORDINATOR):
        assert "admitted" in sent(t, pid)
    st = status(t.room)
    assert st[HANDLER] == st[VIEWER] == st[COORDINATOR] == "admitted"
    assert st[RECORDER] == "away"  # gave up admission by leaving
    assert st[WITNESS] == "lobby"  # was never admitted: still waits for the chair
    # Dropped meanwhile: back in the call without the lobby on reconnect.
    rejoined = rooms.join(t.room, ROOM, "room", now=at(41), name="城关镇接访室")
    assert "admitted" in sent(rejoined, ROOM)
    assert t.events[-1].kind == "deliberation_changed" and not t.events[-1].active
    # Admission works again for everyone.
    assert status(rooms.apply(t.room, CHAIR, Admit(participant_id=WITNESS), now=at(42)).room)[WITNESS] == "admitted"


def test_only_the_chair_deliberates_and_only_once():
    room = hearing_in_session()
    for pid in (COORDINATOR, MEMBER1, HANDLER):
        with pytest.raises(ProtocolError) as refused:
            rooms.apply(room, pid, Deliberation(active=True), now=at(30))
        assert refused.value.code == "forbidden"
    with pytest.raises(ProtocolError) as not_yet:
        rooms.apply(room, CHAIR, Deliberation(active=False), now=at(30))
    assert not_yet.value.code == "illegal_state"
    assert DELIBERATES == {"chair", "hearing_member"}


def test_the_gallery_sees_roles_never_names():
    state = State(session=SessionInfo(id=SESSION, state="live"), participants=[
        ParticipantView(id=pid, role=role, name=name, status="admitted", connected=True) for pid, role, name in ROSTER])
    labels = {"chair": "主持人", "hearing_member": "听证员", "petitioner": "信访人", "observer": "旁听"}
    redacted = for_gallery(state, labels)
    names = [p.name for p in redacted.participants]
    assert names[:3] == ["主持人", "听证员1", "听证员2"]
    assert "信访人" in names and "旁听" in names
    assert not any(real in " ".join(names) for _, _, real in ROSTER if real not in labels.values())
    # Everything else is kept: ids, roles, statuses.
    assert [(p.id, p.role, p.status) for p in redacted.participants] == \
        [(p.id, p.role, p.status) for p in state.participants]
    assert state.participants[0].name == "王主持"  # the original is untouched
