"""Reminders through the outbox (each raised once) and no-shows after the grace period."""

from __future__ import annotations

from sqlalchemy import select

from scheduling.jobs import mark_no_shows, remind_sessions
from scheduling.policy import Policy
from tests.factories import login, page_client
from tests.scheduling.conftest import at, reception
from vreception.models import AuditEvent, Notification
from vreception.models.scheduling import ReceptionSession, SessionEvent

POLICY = Policy()


def test_reminders_reach_leader_room_and_coordinator_once_per_stage(app, client, world, db):
    org = world.org
    booked = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world)).json()
    with db.transaction() as session:
        assert remind_sessions(db=session, now=at("2026-03-02", "10:00"), policy=POLICY) == 0  # two days ahead
    with db.transaction() as session:
        raised = remind_sessions(db=session, now=at("2026-03-03", "10:00"), policy=POLICY)
    with db.transaction() as session:
        assert remind_sessions(db=session, now=at("2026-03-03", "10:05"), policy=POLICY) == 0  # idempotent
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))
    # Leader, both rooms (the township's and the plan's county room) and the booking coordinator.
    assert raised == 4 and len(rows) == 4
    assert {r.stage for r in rows} == {"1440m.leader", f"1440m.room{org.rooms['township'].id}",
                                       f"1440m.room{org.rooms['county'].id}", "1440m.coordinator"}
    kiosk = next(r for r in rows if r.stage == f"1440m.room{org.rooms['township'].id}")
    assert kiosk.person_id == org.people["room_township"].id and kiosk.node_id == org.nodes["township"].id
    assert all(r.kind == "session.reminder" and r.subject_id == booked["id"] for r in rows)
    # the title names the session: the leader and both rooms, the same for every recipient
    leader = org.people["leader_county"].name
    (title,) = {r.title for r in rows}
    assert title.startswith(f"接访提醒：2026-03-04 09:00 {leader}（")
    assert org.rooms["township"].name in title and org.rooms["county"].name in title
    with db.transaction() as session:
        assert remind_sessions(db=session, now=at("2026-03-04", "08:10"), policy=POLICY) == 4  # the hour-before stage
        assert remind_sessions(db=session, now=at("2026-03-04", "08:20"), policy=POLICY) == 0
    # the county coordinator oversees all four recipients of both stages: one line, the newest, linked to the session
    notices = page_client(app, "coord.county").get("/dashboard").text.split('id="h-notices"')[1]
    assert notices.count(f'href="/sessions/{booked["id"]}"') == 1 and notices.count(leader) == 1
    assert '<li data-stage="60m.' in notices


def test_no_show_after_the_grace_period_is_marked_once_and_audited(client, world, db):
    headers = login(client, "coord.county")
    booked = client.post("/api/v1/sessions", headers=headers, json=reception(world)).json()
    later = client.post("/api/v1/sessions", headers=headers, json=reception(world, start="10:00", end="10:30")).json()
    with db.transaction() as session:
        assert mark_no_shows(db=session, now=at("2026-03-04", "09:14"), policy=POLICY) == 0
    with db.transaction() as session:
        assert mark_no_shows(db=session, now=at("2026-03-04", "09:15"), policy=POLICY) == 1
    with db.transaction() as session:
        assert mark_no_shows(db=session, now=at("2026-03-04", "09:30"), policy=POLICY) == 0
        states = {s.id: s.state.value for s in session.scalars(select(ReceptionSession))}
        events = [e.action for e in session.scalars(select(SessionEvent).where(SessionEvent.session_id == booked["id"])
                                                    .order_by(SessionEvent.id))]
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "session",
                                                                  AuditEvent.entity_id == str(booked["id"]))
                                  .order_by(AuditEvent.seq)).all()
    assert states == {booked["id"]: "no_show", later["id"]: "booked"}
    assert events == ["booked", "no_show"] and audited == ["session.booked", "session.no_show"]
    detail = client.get(f"/api/v1/sessions/{booked['id']}", headers=headers).json()
    assert detail["state"] == "no_show"
    assert client.post(f"/api/v1/sessions/{booked['id']}/cancel", headers=headers).status_code == 409
