"""A small statistics scene: March–April 2026 in the city, matters of county A and county B with handling deadlines,
video sessions of a county and a city leader (tests/cases/test_statistics.py, tests/web/test_statistics_pages.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.cases.helpers import at, travel
from tests.factories import matter_row
from vreception.models import DeadlineState, Demand
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState

MARCH_APRIL = [date(2026, 3, 1), date(2026, 4, 1)]


def _matter(session, org, unit, *, registered: datetime, categories=("wages",), handling=None, state="open",
            done: datetime | None = None):
    """A matter of UNIT registered at REGISTERED, with one handling deadline (due day, state, done at)."""
    node = org.nodes[unit]
    matter = matter_row(session, origin=org.nodes["township"], handling=node,
                        deadlines=[("handling", handling)] if handling else [])
    matter.registered_at = registered
    matter.demands = [Demand(position=i, summary="诉求", category=c) for i, c in enumerate(categories)]
    for deadline in matter.deadlines:
        deadline.state, deadline.done_at = DeadlineState(state), done
    session.flush()
    return matter


def _session(session, org, leader, starts: datetime, state: str, roles=()):
    person = org.people[leader]
    item = ReceptionSession(kind=SessionKind.reception, state=SessionState(state), leader_id=person.id,
                            node_path=org.nodes[{"leader_county": "county", "leader_city": "city"}[leader]].path,
                            starts_at=starts, ends_at=starts + timedelta(minutes=30))
    item.participants = [Participant(role=role, name=f"{role}{i}") for i, role in enumerate(roles)]
    item.participants.append(Participant(role="coordinator", name="工作人员"))
    session.add(item)
    session.flush()


def build(db, org):
    """March–April 2026 in the city: matters of county A and county B, sessions of a county and a city leader."""
    travel(2026, 5, 10)
    with db.transaction() as s:
        # March: county A met its handling day, county B missed it and replied only in April (overdue at March's end).
        _matter(s, org, "county", registered=at(2026, 3, 2), handling=date(2026, 3, 10), state="met",
                done=at(2026, 3, 9), categories=("wages", "land"))
        _matter(s, org, "county2", registered=at(2026, 3, 3), handling=date(2026, 3, 20), state="missed",
                done=at(2026, 4, 2), categories=("housing",))
        # April: county A leaves one open past its day.
        _matter(s, org, "county", registered=at(2026, 4, 1), handling=date(2026, 4, 5), categories=("wages", "wages"))
        _matter(s, org, "county", registered=at(2026, 1, 5))  # before the range
        _session(s, org, "leader_county", at(2026, 3, 15), "ended", ("petitioner", "representative", "representative"))
        _session(s, org, "leader_county", at(2026, 4, 15), "ended", ("petitioner",))
        _session(s, org, "leader_county", at(2026, 4, 16), "no_show", ("petitioner",))
        _session(s, org, "leader_county", at(2026, 4, 17), "cancelled", ("petitioner",))
        _session(s, org, "leader_city", at(2026, 4, 2), "ended", ("petitioner", "petitioner"))
        _session(s, org, "leader_city", at(2026, 5, 2), "ended", ("petitioner",))  # after the range
    return org
