"""The demo's month of history on SQLite and PostgreSQL: every state it claims, held sessions with recordings that
verify, plans with free slots for leaders at every level, consistent people, one intact audit chain, and a second
load that adds nothing and keeps today's walk-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from recordings import service as recording_service
from recordings.storage import storage_from_settings
from scheduling import availability, demo_history
from scheduling.policy import policy_from
from tests.factories import app_settings
from vreception import audit, clock, tasks
from vreception.cases.identity import Protector, check_digit
from vreception.cli import WALK_IN_REASON, demo_load
from vreception.models import (
    AuditEvent,
    Document,
    Matter,
    MatterEvent,
    Node,
    NodeLevel,
    Person,
    Petitioner,
    Role,
    RoleAssignment,
    Room,
    Task,
)
from vreception.models.recordings import Recording, RecordingState
from vreception.models.scheduling import Participant, ReceptionPlan, ReceptionSession, SessionState

COUNTED = (Matter, MatterEvent, ReceptionSession, ReceptionPlan, Recording, Task, Document, Petitioner, Person,
           AuditEvent)


def _counts(db) -> dict[str, int]:
    with db.transaction() as session:
        return {table.__name__: session.scalar(select(func.count()).select_from(table)) for table in COUNTED}


@pytest.mark.slow
def test_demo_history_is_whole_consistent_and_loaded_once(db, tmp_path):
    settings = app_settings(db, tmp_path / "var")
    policy, protector = policy_from(settings), Protector(settings.effective_secret_key())
    walk_in, hearing = demo_load(settings, db=db)
    assert walk_in is not None and hearing is not None and walk_in != hearing.session_id
    loaded = _counts(db)
    with db.transaction() as session:
        # Matters in every state the history claims, rated all three ways, spread over the month before today.
        states = set(session.scalars(select(Matter.state)))
        assert demo_history.CLAIMED_STATES <= states
        assert {"satisfied", "basically_satisfied", "unsatisfied"} <= set(session.scalars(select(Matter.rating)))
        assert loaded["Matter"] >= 60
        received = session.scalars(select(Matter.received_at)).all()
        assert min(received) < clock.now() - timedelta(days=20)
        assert session.scalar(select(func.count()).select_from(Document).where(Document.served_at.isnot(None))) >= 20
        # Sessions held, missed and cancelled; every held one recorded, and each recording verifies.
        session_states = set(session.scalars(select(ReceptionSession.state)))
        assert {SessionState.ended, SessionState.no_show, SessionState.cancelled} <= session_states
        ended = session.scalars(select(ReceptionSession).where(ReceptionSession.state == SessionState.ended)).all()
        assert len(ended) >= 20
        storage = storage_from_settings(settings)
        for booking in ended:
            recordings = recording_service.recordings_of(db=session, session_id=booking.id)
            assert [r.state for r in recordings] == [RecordingState.finalised], booking.id
            assert recordings[0].duration_s and recordings[0].duration_s >= 1.5
            report = recording_service.verify(db=session, recording=recordings[0], storage=storage)
            assert report.ok, report.problems
        # Tasks done and tasks overdue.
        all_tasks = session.scalars(select(Task)).all()
        assert any(t.state.value == "closed" for t in all_tasks)
        assert any(tasks.is_overdue(t) for t in all_tasks)
        # People: distinct phones, valid ID numbers whose gender digit matches the name.
        phones, genders = [], 0
        for person in session.scalars(select(Petitioner)):
            phones.append(protector.decrypt(person.phone_cipher))
            number = protector.decrypt(person.id_cipher)
            assert number[-1] == check_digit(number[:17]), person.name
            given = person.name[1:]
            male = int(number[16]) % 2 == 1
            if all(c in demo_history.MALE for c in given):
                assert male, (person.name, number)
                genders += 1
            elif all(c in demo_history.FEMALE for c in given):
                assert not male, (person.name, number)
                genders += 1
        assert len(phones) == len(set(phones)) and genders == len(phones) >= 60
        # One Party secretary per township: 党工委书记 (街道) or 党委书记 (乡镇), never twice.
        for township in session.scalars(select(Node).where(Node.level == NodeLevel.township, Node.kind == "region")):
            title = "党工委书记" if township.name.endswith("街道") else "党委书记"
            holders = session.scalars(select(Person.title).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                                      .where(RoleAssignment.role == Role.leader,
                                             RoleAssignment.node_id == township.id)).all()
            assert holders.count(f"{township.name}{title}") == 1, (township.name, holders)
        # Every leader, at every level, has free slots in the coming days (ten: a week even across a 7-day holiday).
        leaders = session.execute(select(RoleAssignment.person_id, Node.level).join(Node)
                                  .where(RoleAssignment.role == Role.leader)).all()
        assert {level for _, level in leaders} == set(NodeLevel)
        now = clock.now()
        for leader_id, level in leaders:
            slots = availability.free_slots(db=session, policy=policy, leader_id=leader_id, first=now,
                                            last=now + timedelta(days=10))
            assert slots, (leader_id, level)
        assert audit.verify(db=session).ok
        # Today's walk-in: the county leader's ad hoc session with the township room, not a history session.
        booked = session.get_one(ReceptionSession, walk_in)
        room = session.scalar(select(Room).where(Room.name == "东关街道视频接访室"))
        assert booked.ad_hoc and booked.reason == WALK_IN_REASON
        assert session.get_one(Person, booked.leader_id).username == "leader.county"
        assert room.id in session.scalars(select(Participant.room_id).where(Participant.session_id == walk_in)).all()
        assert booked.ends_at > now

    again, hearing_again = demo_load(settings, db=db)
    assert again == walk_in and hearing_again is not None and hearing_again.session_id == hearing.session_id
    assert _counts(db) == loaded
    with db.transaction() as session:
        assert audit.verify(db=session).ok


def test_petitioners_agree_with_their_id_numbers():
    import random

    phones: set[str] = set()
    rng = random.Random(1)
    for index in range(1, 200):
        person = demo_history.petitioner(rng, index, "580102", phones)
        number, given = person["id_number"], person["name"][1:]
        assert len(number) == 18 and number[-1] == check_digit(number[:17])
        assert (int(number[16]) % 2 == 1) == all(c in demo_history.MALE for c in given)
    assert len(phones) == 199
