"""Reads of sessions and plans for a principal: the leader's agenda, a room's sessions, the published month."""

from __future__ import annotations

from datetime import date, timedelta

from scheduling import queries
from tests.factories import POLICY, session_row
from tests.scheduling.conftest import at
from vreception import clock
from vreception.auth.access import principal_for
from vreception.models import Matter, MatterEvent, Person
from vreception.models.scheduling import ReceptionSession, SessionState


def _session(db, world, day: str, hhmm: str, *, room: str | None = "township", state=SessionState.booked,
             leader: str = "leader_county", matter: int | None = None) -> int:
    with db.transaction() as session:
        return session_row(session, world.org, starts_at=at(day, hhmm), state=state, leader=leader, matter_id=matter,
                           room=room).id


def _principal(session, world, key):
    return principal_for(session.get(Person, world.org.people[key].id))


def test_the_agenda_holds_the_leaders_own_sessions_of_the_week_with_their_matters(db, world):
    with db.transaction() as session:
        for action in ("register", "accept", "assign"):
            session.add(MatterEvent(matter_id=world.matter, action=action))
    earlier = _session(db, world, "2026-02-20", "09:00", matter=world.matter, state=SessionState.ended)
    mine = _session(db, world, "2026-03-03", "09:00", matter=world.matter)
    bare = _session(db, world, "2026-03-04", "10:00")
    _session(db, world, "2026-03-04", "11:00", state=SessionState.cancelled)
    _session(db, world, "2026-03-04", "09:00", leader="leader_city")
    _session(db, world, "2026-03-10", "09:00")
    with db.transaction() as session:
        leader = _principal(session, world, "leader_county")
        entries = queries.leader_agenda(leader, at("2026-03-02", "00:00"), at("2026-03-09", "00:00"), db=session,
                                        history=2)
        assert [e.session.id for e in entries] == [mine, bare]
        assert entries[0].matter.id == world.matter and [e.action for e in entries[0].history] == ["assign", "accept"]
        assert [s.id for s in entries[0].earlier] == [earlier]
        assert entries[1].matter is None and entries[1].history == [] and entries[1].earlier == []
        session.get(Matter, world.matter).owner_leader_id = leader.person_id
        assert [m.id for m in queries.owned_matters(leader, db=session)] == [world.matter]
        assert queries.owned_matters(_principal(session, world, "leader_city"), db=session) == []


def test_a_rooms_upcoming_sessions_and_a_session_only_through_its_room(db, world):
    org = world.org
    first = _session(db, world, "2026-03-03", "09:00")
    _session(db, world, "2026-03-03", "10:00", room="township2")
    _session(db, world, "2026-03-01", "09:00")  # over
    _session(db, world, "2026-03-04", "09:00", state=SessionState.no_show)
    second = _session(db, world, "2026-03-05", "09:00")
    township = {org.rooms["township"].id}
    with db.transaction() as session:
        assert [s.id for s in queries.upcoming_in_rooms(township, clock.now(), db=session)] == [first, second]
        assert [s.id for s in queries.upcoming_in_rooms(township, clock.now(), db=session, limit=1)] == [first]
        assert queries.session_in_rooms(first, township, db=session).id == first
        assert queries.session_in_rooms(first, {org.rooms["township2"].id}, db=session) is None
        assert queries.session_in_rooms(first, set(), db=session) is None
        assert queries.session_in_rooms(10_000, township, db=session) is None


def test_rateable_sessions_are_ended_ones_whose_reply_was_served_once_per_matter(db, world):
    org = world.org
    with db.transaction() as session:
        session.get(Matter, world.matter).served_at = clock.now() - timedelta(days=1)
    _session(db, world, "2026-02-20", "09:00", matter=world.matter, state=SessionState.ended)
    latest = _session(db, world, "2026-02-27", "09:00", matter=world.matter, state=SessionState.ended)
    booked = _session(db, world, "2026-03-03", "09:00", matter=world.matter)
    township = {org.rooms["township"].id}
    with db.transaction() as session:
        found = queries.rateable_in_rooms(township, 30, db=session)
        assert [(s.id, m.id) for s, m in found] == [(latest, world.matter)]
        assert queries.matter_of(session.get(ReceptionSession, booked), db=session).id == world.matter
        session.get(Matter, world.matter).rating = "satisfied"
        assert queries.rateable_in_rooms(township, 30, db=session) == []
        assert queries.rateable_in_rooms({org.rooms["township2"].id}, 30, db=session) == []


def test_plans_a_principal_sees_and_the_published_month(db, world):
    org = world.org
    with db.transaction() as session:
        by_key = {k: _principal(session, world, k) for k in ("coord_county", "coord_province", "leader_city",
                                                              "coord_county2", "handler")}
        assert [p.id for p in queries.visible_plans(by_key["coord_county"], db=session)] == [world.county_plan]
        assert {p.id for p in queries.visible_plans(by_key["coord_province"], db=session)} == {world.county_plan,
                                                                                           world.city_plan}
        assert [p.id for p in queries.visible_plans(by_key["leader_city"], db=session)] == [world.city_plan]
        assert queries.visible_plans(by_key["handler"], db=session) == []
        assert queries.visible_plans(by_key["coord_county2"], db=session) == []
        assert [n.id for n in queries.publishing_offices(db=session)] == [org.nodes["city"].id, org.nodes["county"].id]
        days = queries.published_days(org.nodes["county"], date(2026, 3, 2), date(2026, 3, 6), POLICY, db=session)
        assert [d.day for d in days] == [date(2026, 3, d) for d in range(2, 7)]
        assert days[0].leader.id == org.people["leader_county"].id
        assert [r.id for r in days[0].rooms] == [org.rooms["county"].id]
        assert days[0].occurrence.starts_at == at("2026-03-02", "09:00")
