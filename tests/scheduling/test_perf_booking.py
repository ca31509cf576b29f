"""The booking path's cost: its statements, and objects written with Core that behave as flushed ones."""

from __future__ import annotations

import json

from sqlalchemy import event, func, select

from scheduling import booking
from tests.factories import POLICY
from tests.scheduling.conftest import at
from vreception import audit
from vreception.models import AuditEvent, AuditHead
from vreception.models.scheduling import Claim, Participant, ReceptionSession, SessionEvent
from vreception.workdays import load_calendar, load_year_file

# Reads: leader, room, matter, absence, calendar, plans, room hours, closures, the plan's room. Writes: session,
# participants, claims, history, audit head, audit event with the head's hash (one statement on PostgreSQL),
# and the matter's petitioners for the reception SMS (vreception/sms/hooks.py; this petitioner has no phone).
# SQLite also sends BEGIN IMMEDIATE, the head's hash apart, and participants one by one (RETURNING in order).
MAX_STATEMENTS = {"postgresql": 16, "sqlite": 21}


def _book(session, world, **extra):
    org = world.org
    fields = dict(policy=POLICY, kind="reception", leader_id=org.people["leader_county"].id,
                  room_ids=[org.rooms["township"].id], matter_id=world.matter, starts_at=at("2026-03-04", "09:00"),
                  ends_at=at("2026-03-04", "09:30"), participants=[booking.ParticipantSpec("petitioner", name="张三")],
                  coordinator=True, actor_id=org.people["coord_county"].id)
    fields.update(extra)
    return booking.book(db=session, **fields)


def test_a_booking_takes_a_bounded_number_of_statements(db, world):
    statements = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split(None, 3)[:3])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.transaction() as session:
            item = _book(session, world)
            written = len(statements)
            # Participants and the session are already in the session: reading them asks nothing.
            assert [p.role for p in item.participants] == ["leader", "room", "room", "petitioner"]
            assert item.state.value == "booked" and item.version == 0 and item.recorded
            assert len(statements) == written
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert written <= MAX_STATEMENTS[db.backend], statements


def test_the_booking_objects_are_the_rows_written(db, world):
    with db.transaction() as session:
        item = _book(session, world)
        in_memory = [(p.id, p.role, p.person_id, p.room_id, p.name, p.node_path) for p in item.participants]
        assert all(p.session is item for p in item.participants)
        assert session.get(ReceptionSession, item.id) is item
        assert item not in session.new and not session.dirty
        booking_id = item.id
    with db.transaction() as session:
        fresh = session.get(ReceptionSession, booking_id)
        assert [(p.id, p.role, p.person_id, p.room_id, p.name, p.node_path) for p in fresh.participants] == in_memory
        assert (fresh.starts_at, fresh.ends_at, fresh.plan_id, fresh.buffer_minutes) == (
            item.starts_at, item.ends_at, item.plan_id, item.buffer_minutes)
        assert session.scalar(select(func.count()).select_from(Participant)) == 4
        assert session.scalar(select(func.count()).select_from(Claim)) == 8 + 6 + 6
        assert [e.action for e in session.scalars(select(SessionEvent))] == ["booked"]
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "session.booked")))
        assert len(events) == 1 and json.loads(events[0].data)["leader_id"] == fresh.leader_id
        assert audit.verify(db=session).ok


def test_changes_after_booking_in_the_same_transaction_are_flushed(db, world):
    with db.transaction() as session:
        item = _book(session, world)
        booking.cancel(db=session, booking=item, reason="改期")
        booking_id = item.id
    with db.transaction() as session:
        assert session.get(ReceptionSession, booking_id).state.value == "cancelled"
        assert session.scalar(select(func.count()).select_from(Claim)) == 0
        assert audit.verify(db=session).ok


def test_audit_record_returns_a_persistent_event_and_refreshes_a_loaded_head(db):
    with db.transaction() as session:
        head = session.get(AuditHead, 1)
        assert head.seq == 0
        first = audit.record(db=session, action="test.one", entity_type="thing", entity_id=1, data={"名": "值"})
        second = audit.record(db=session, action="test.two", entity_type="thing", entity_id=2)
        assert first.id is not None and second.prev_hash == first.hash
        assert session.get(AuditEvent, first.id) is first
        assert head.seq == 2 and head.hash == second.hash
    with db.transaction() as session:
        report = audit.verify(db=session)
        assert report.ok and report.events == 2, report.problems


def test_a_year_loaded_elsewhere_is_seen_at_once(db, tmp_path):
    with db.transaction() as session:
        before = load_calendar(db=session)
        assert not before.is_official(2031)
        assert load_calendar(db=session) is before  # unchanged: the same calendar
    path = tmp_path / "2031.json"
    path.write_text(json.dumps({"year": 2031, "holidays": [{"date": "2031-01-01", "name": "元旦"}],
                                "workdays": [{"date": "2031-01-04", "name": "调休"}]}), encoding="utf-8")
    with db.transaction() as session:
        load_year_file(path, db=session)
    with db.transaction() as session:
        after = load_calendar(db=session)
    assert after is not before and after.is_official(2031)
    assert after.loaded == {at("2031-01-01").date(): False, at("2031-01-04").date(): True}
