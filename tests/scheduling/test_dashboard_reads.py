"""The dashboard's week: filtered for the coordinator in SQL before its limit (issue 10: it took the province's first
500 sessions and filtered afterwards, so a county coordinator lost sessions in a busy week)."""

from __future__ import annotations

import html
import re

from scheduling import dashboard
from tests.factories import add_task, page_client, session_row
from tests.scheduling.conftest import at
from vreception import clock
from vreception.auth.access import principal_for
from vreception.models import Matter, Person


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
        assert [s.id for s in dashboard.sessions_between(county, *week, db=session)] == [own]
        assert len(dashboard.sessions_between(county2, *week, db=session)) == 3


def test_the_week_past_one_page_is_counted_and_the_rest_is_a_page_away(db, world, monkeypatch):
    """Issue 10: the week was cut at MAX_SESSIONS rows without a word; now it says how many and pages on."""
    monkeypatch.setattr(dashboard, "MAX_SESSIONS", 3)
    org = world.org
    with db.transaction() as session:
        made = [session_row(session, org, starts_at=at(day, "09:00"), room="township").id
                for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05")]
    with db.transaction() as session:
        county = principal_for(session.get(Person, org.people["coord_county"].id))
        week = (at("2026-03-02", "00:00"), at("2026-03-09", "00:00"))
        first = dashboard.sessions_between(county, *week, db=session)
        assert [s.id for s in first] == made[:3] and first.total == 4 and first.next
        rest = dashboard.sessions_between(county, *week, db=session, cursor=first.next)
        assert [s.id for s in rest] == made[3:] and rest.next is None


def test_due_tasks_past_one_page_are_counted_and_paged(db, world, monkeypatch):
    monkeypatch.setattr(dashboard, "MAX_TASKS", 2)
    org = world.org
    with db.transaction() as session:
        matter = session.get(Matter, world.matter)
        late = [add_task(session, org, matter, title=f"逾期{i}", due_at=at("2026-03-02", f"1{i}:00")).id
                for i in range(1, 4)]
        near = add_task(session, org, matter, title="将到期", due_at=at("2026-03-05", "09:00")).id
    clock.travel_to(at("2026-03-02", "14:00"))
    with db.transaction() as session:
        county = principal_for(session.get(Person, org.people["coord_county"].id))
        overdue = dashboard.due_tasks(county, db=session, overdue=True)
        assert [t.id for t in overdue] == late[:2] and overdue.total == 3
        assert [t.id for t in dashboard.due_tasks(county, db=session, overdue=True, cursor=overdue.next)] == late[2:]
        assert [t.id for t in dashboard.due_tasks(county, db=session, overdue=False)] == [near]


def test_the_dashboard_page_links_to_the_rest_of_a_long_week(app, db, world, monkeypatch):
    monkeypatch.setattr(dashboard, "MAX_SESSIONS", 2)
    org = world.org
    with db.transaction() as session:
        made = [session_row(session, org, starts_at=at(day, "15:00"), room="township").id
                for day in ("2026-03-03", "2026-03-04", "2026-03-05")]
    browser = page_client(app, "coord.county")
    first = browser.get("/dashboard")
    assert first.status_code == 200, first.text
    week = first.text[first.text.index('id="h-week"'):]
    assert f'data-session="{made[2]}"' not in week and 'data-more="week" data-total="3"' in week
    link = re.search(r'href="(/dashboard\?week=[^"#]+)#h-week" data-next="week"', week)
    assert link and "更多…" in week
    following = browser.get(html.unescape(link.group(1))).text
    rest = following[following.index('id="h-week"'):]
    assert f'data-session="{made[2]}"' in rest and 'data-next="week"' not in rest
    assert 'hx-get="/dashboard/live?week=' in following


def test_a_county_sees_the_due_tasks_of_its_matters_wherever_they_were_assigned(db, world):
    """A county's due list holds the tasks of the matters it handles, also those assigned to a unit elsewhere (found
    by matter), and the tasks of its own units; another county's holds only what its units were given."""
    org = world.org
    with db.transaction() as session:
        matter = session.get(Matter, world.matter)
        away = add_task(session, org, matter, title="外区承办", due_at=at("2026-03-02", "11:00"), unit="county2").id
        home = add_task(session, org, matter, title="本区承办", due_at=at("2026-03-02", "12:00")).id
    clock.travel_to(at("2026-03-02", "14:00"))
    with db.transaction() as session:
        county = principal_for(session.get(Person, org.people["coord_county"].id))
        county2 = principal_for(session.get(Person, org.people["coord_county2"].id))
        assert [t.id for t in dashboard.due_tasks(county, db=session, overdue=True)] == [away, home]
        assert [t.id for t in dashboard.due_tasks(county2, db=session, overdue=True)] == [away]
