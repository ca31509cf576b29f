"""The dashboard's week: filtered for the coordinator in SQL before its limit (issue 10: it took the province's first
500 sessions and filtered afterwards, so a county coordinator lost sessions in a busy week)."""

from __future__ import annotations

from scheduling import dashboard
from tests.factories import session_row
from tests.scheduling.conftest import at
from vreception.auth.access import principal_for
from vreception.models import Person


def test_a_county_coordinator_sees_its_sessions_however_busy_the_province_is(db, world, monkeypatch):
    monkeypatch.setattr(dashboard, "MAX_SESSIONS", 3)
    org = world.org
    with db.transaction() as session:
        # More sessions of the other county than the limit, all earlier in the week than the county's own.
        for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"):
            other = session_row(session, org, starts_at=at(day, "09:00"), room="township2")
            other.node_path = org.nodes["county2"].path
        own = session_row(session, org, starts_at=at("2026-03-06", "09:00"), room="township").id
    with db.transaction() as session:
        county = principal_for(session.get(Person, org.people["coord_county"].id))
        county2 = principal_for(session.get(Person, org.people["coord_county2"].id))
        week = (at("2026-03-02", "00:00"), at("2026-03-09", "00:00"))
        assert [s.id for s in dashboard.sessions_between(session, county, *week)] == [own]
        assert len(dashboard.sessions_between(session, county2, *week)) == 3
