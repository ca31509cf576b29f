"""The video receptions of ended months stored per leader and node path (issue 16): read back equal to a live count
for the province, the city and a county, over ended months alone and with the current month; a late change (a
session's state, a participant added, moved or removed, a session rescheduled to another month or deleted) marks its
months stale and the next read counts them again; a read of stored months takes a few statements."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from scheduling import session_counts
from scheduling import statistics as sessions
from tests.cases.helpers import at, travel
from vreception.cases.statistics import month_starts, range_bounds
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState
from vreception.models.session_figures import SessionCount, SessionMonth, StaleSessionMonth

FEBRUARY, MARCH, APRIL, MAY = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)
SEATS = {"leader_county": "county", "leader_city": "city", "leader_county2": "county2"}


def _session(s, org, leader: str, starts: datetime, state: str, roles=()) -> int:
    item = ReceptionSession(kind=SessionKind.reception, state=SessionState(state), leader_id=org.people[leader].id,
                            node_path=org.nodes[SEATS[leader]].path, starts_at=starts,
                            ends_at=starts + timedelta(minutes=30))
    item.participants = [Participant(role=role, name=f"{role}{i}") for i, role in enumerate(roles)]
    item.participants.append(Participant(role="coordinator", name="工作人员"))  # never counted
    s.add(item)
    s.flush()
    return item.id


@pytest.fixture
def scene(db, org):
    """March, April (ended) and May 2026 (running, today the 10th): sessions of a county and a city leader in every
    state, the group's participants, and two sessions either side of the local midnight ending March."""
    travel(2026, 5, 10)
    group = ("petitioner", "representative", "representative")
    with db.transaction() as s:
        ids = {
            "march_held": _session(s, org, "leader_county", at(2026, 3, 15), "ended", group),
            "march_held2": _session(s, org, "leader_county", at(2026, 3, 16), "ended", ("petitioner",)),
            "march_no_show": _session(s, org, "leader_county", at(2026, 3, 17), "no_show", ("petitioner",)),
            "march_cancelled": _session(s, org, "leader_city", at(2026, 3, 18), "cancelled", ("petitioner",)),
            # 23:30 on March 31 in Shanghai is still March; 00:30 on April 1 is April (both March 31 in UTC).
            "march_last": _session(s, org, "leader_city", at(2026, 3, 31, 23, 30), "ended", ("petitioner",)),
            "april_first": _session(s, org, "leader_city", at(2026, 4, 1, 0, 30), "ended", ("petitioner",) * 2),
            "april_held": _session(s, org, "leader_county", at(2026, 4, 15), "ended", ("representative",)),
            "april_booked": _session(s, org, "leader_county", at(2026, 4, 20), "booked", ("petitioner",)),
            "may_held": _session(s, org, "leader_county", at(2026, 5, 4), "ended", ("petitioner",)),
            "may_booked": _session(s, org, "leader_city", at(2026, 5, 20), "booked", ("petitioner",)),
        }
    return ids


@contextmanager
def _live(monkeypatch):
    """No month is ended for the readers: everything counted live, as before the counts were stored."""
    with monkeypatch.context() as patch:
        patch.setattr(session_counts, "ended_part", lambda months, at=None: [])
        yield


def _read(db, months: list[date], path: str):
    start, end = range_bounds(months)
    with db.transaction() as s:
        return (sessions.by_leader(db=s, start=start, end=end, path=path),
                sessions.held_by_month(db=s, bounds=month_starts(months), path=path))


def _agree(db, monkeypatch, months: list[date], path: str):
    """The read over MONTHS in subtree PATH, the ended months from their stored counts, equal to a live count."""
    found = _read(db, months, path)
    with _live(monkeypatch):
        assert found == _read(db, months, path)
    return found


def _count(db, model, **where) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def _held(found) -> dict[str, tuple[int, int, int, int, int]]:
    return {row.name: (row.counts.held, row.counts.persons, row.counts.no_show, row.counts.cancelled,
                       row.counts.pending) for row in found[0]}


def test_stored_months_equal_live_counts(db, org, scene, monkeypatch):
    province, city, county = org.nodes["province"].path, org.nodes["city"].path, org.nodes["county"].path
    march = _agree(db, monkeypatch, [MARCH], province)
    assert _held(march) == {"测试leader_county": (2, 4, 1, 0, 0), "测试leader_city": (1, 1, 0, 1, 0)}
    assert march[1] == [3]
    assert _count(db, SessionMonth) == 1 and _count(db, SessionCount, month=MARCH) == 2
    both = _agree(db, monkeypatch, [MARCH, APRIL], province)
    assert _held(both) == {"测试leader_county": (3, 5, 1, 0, 1), "测试leader_city": (2, 3, 0, 1, 0)}
    assert both[1] == [3, 2]
    # With the running month: the ended months stored, May counted live (and never stored).
    running = _agree(db, monkeypatch, [FEBRUARY, MARCH, APRIL, MAY], province)
    assert running[1] == [0, 3, 2, 1]
    assert _held(running)["测试leader_city"] == (2, 3, 0, 1, 1)
    assert _count(db, SessionMonth) == 3 and _count(db, SessionMonth, month=MAY) == 0  # February stored empty
    for path in (city, county, org.nodes["county2"].path, org.nodes["township"].path):
        _agree(db, monkeypatch, [FEBRUARY, MARCH, APRIL, MAY], path)
        _agree(db, monkeypatch, [MARCH], path)
    assert _held(_agree(db, monkeypatch, [MARCH, APRIL], county)) == {"测试leader_county": (3, 5, 1, 0, 1)}
    assert _agree(db, monkeypatch, [MARCH, APRIL, MAY], org.nodes["county2"].path) == ([], [0, 0, 0])
    rows = _count(db, SessionCount)
    _agree(db, monkeypatch, [MARCH, APRIL], province)
    assert _count(db, SessionCount) == rows and _count(db, StaleSessionMonth) == 0  # read again: nothing counted


def test_a_range_of_other_bounds_is_counted_live(db, org, scene):
    province = org.nodes["province"].path
    with db.transaction() as s:
        found = sessions.by_leader(db=s, start=at(2026, 3, 16), end=at(2026, 4, 16), path=province)
        held = sessions.held_by_month(db=s, bounds=[at(2026, 3, 16), at(2026, 4, 16)], path=province)
    assert {row.name: row.counts.held for row in found} == {"测试leader_county": 2, "测试leader_city": 2}
    assert held == [4]
    assert _count(db, SessionMonth) == 0


def test_late_changes_are_seen_on_the_next_read(db, org, scene, monkeypatch):
    province = org.nodes["province"].path
    months = [MARCH, APRIL, MAY]
    _agree(db, monkeypatch, months, province)
    # A held session of March marked a no-show: March stale, then counted again on the next read.
    with db.transaction() as s:
        s.get(ReceptionSession, scene["march_held"]).state = SessionState.no_show
    assert _count(db, StaleSessionMonth) == 1 and _count(db, StaleSessionMonth, month=MARCH) == 1
    found = _agree(db, monkeypatch, months, province)
    assert _held(found)["测试leader_county"][:3] == (3, 3, 2) and found[1] == [2, 2, 1]
    assert _count(db, StaleSessionMonth) == 0
    # A petitioner added to a session held in April (not loaded: its start is read back).
    with db.transaction() as s:
        s.add(Participant(session_id=scene["april_held"], role="petitioner", name="李四"))
    assert _count(db, StaleSessionMonth, month=APRIL) == 1
    assert _held(_agree(db, monkeypatch, months, province))["测试leader_county"][:2] == (3, 4)
    # A coordinator's seat moves no count: no mark.
    with db.transaction() as s:
        s.add(Participant(session_id=scene["april_held"], role="coordinator", name="值班员"))
    assert _count(db, StaleSessionMonth) == 0
    # A session of March rescheduled into April: both months marked.
    with db.transaction() as s:
        s.get(ReceptionSession, scene["march_held2"]).starts_at = at(2026, 4, 3)
    with db.transaction() as s:
        assert set(s.scalars(select(StaleSessionMonth.month))) == {MARCH, APRIL}
    found = _agree(db, monkeypatch, months, province)
    assert found[1] == [1, 3, 1]
    # A participant moved from April's first session to March's last; then a session of April deleted.
    with db.transaction() as s:
        moved = s.scalars(select(Participant).where(Participant.session_id == scene["april_first"])).first()
        moved.session_id = scene["march_last"]
    with db.transaction() as s:
        assert set(s.scalars(select(StaleSessionMonth.month))) == {MARCH, APRIL}
    _agree(db, monkeypatch, months, province)
    with db.transaction() as s:
        s.delete(s.get(ReceptionSession, scene["april_first"]))
    assert _count(db, StaleSessionMonth, month=APRIL) == 1
    found = _agree(db, monkeypatch, months, province)
    assert found[1] == [1, 2, 1] and _held(found)["测试leader_city"] == (1, 2, 0, 1, 1)
    # A session of the running month changed: nothing stored moves, nothing marked.
    with db.transaction() as s:
        s.get(ReceptionSession, scene["may_booked"]).state = SessionState.cancelled
    assert _count(db, StaleSessionMonth) == 0
    _agree(db, monkeypatch, months, province)


def test_a_session_handed_to_another_leader_marks_its_month(db, org, scene, monkeypatch):
    from tests.factories import extend_org

    extend_org(db, org)
    province = org.nodes["province"].path
    _agree(db, monkeypatch, [MARCH], province)
    with db.transaction() as s:
        item = s.get(ReceptionSession, scene["march_held"])
        item.leader_id, item.node_path = org.people["leader_county2"].id, org.nodes["county2"].path
    assert _count(db, StaleSessionMonth, month=MARCH) == 1
    found = _agree(db, monkeypatch, [MARCH], org.nodes["county2"].path)
    assert _held(found) == {"测试leader_county2": (1, 3, 0, 0, 0)}


def test_a_read_of_stored_months_takes_few_statements(db, org, scene):
    province = org.nodes["province"].path
    months = [FEBRUARY, MARCH, APRIL]
    _read(db, months, province)  # stores them
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):  # SQLite's write transaction
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        start, end = range_bounds(months)
        with db.transaction() as s:
            found = sessions.by_leader(db=s, start=start, end=end, path=province)
            leaders = len(statements)
            held = sessions.held_by_month(db=s, bounds=month_starts(months), path=province)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # by_leader: the months' state, the stored rows, the leaders' names; held_by_month: the state and the rows.
    assert leaders <= 3 and len(statements) - leaders <= 2, statements
    assert not any("participants" in statement for statement in statements)
    assert len(found) == 2 and held == [0, 3, 2]


def test_the_month_end_job_stores_the_month_just_ended_and_recounts_the_marked(db, org, scene, monkeypatch):
    travel(2026, 4, 1, 0, 5)
    with db.transaction() as s:
        assert session_counts.store_ended(db=s, at=at(2026, 4, 1, 0, 5)) == 1
    assert _count(db, SessionMonth, month=MARCH) == 1 and _count(db, SessionMonth) == 1
    with db.transaction() as s:
        assert session_counts.store_ended(db=s, at=at(2026, 4, 1, 0, 10)) == 0
    with db.transaction() as s:
        s.get(ReceptionSession, scene["march_no_show"]).state = SessionState.ended
    assert _count(db, StaleSessionMonth, month=MARCH) == 1
    with db.transaction() as s:
        assert session_counts.store_ended(db=s, at=at(2026, 4, 1, 0, 15)) == 1
    assert _count(db, StaleSessionMonth) == 0
    with db.transaction() as s:
        stored = s.scalar(select(func.sum(SessionCount.held)).where(SessionCount.month == MARCH))
    assert stored == 4
    travel(2026, 5, 10)
    assert _agree(db, monkeypatch, [MARCH], org.nodes["province"].path)[1] == [4]


def test_a_start_replaced_unread_still_marks_the_month_it_left(db, org, scene):
    _read(db, [MARCH, APRIL], org.nodes["province"].path)
    with db.transaction() as s:
        item = s.get(ReceptionSession, scene["march_held"])
        s.expire(item)  # as after a commit: the old start is loaded when it is replaced, not forgotten
        item.starts_at = at(2026, 4, 3)
    with db.transaction() as s:
        assert set(s.scalars(select(StaleSessionMonth.month))) == {MARCH, APRIL}


def test_a_participant_deleted_unread_still_marks_its_month(db, org, scene):
    _read(db, [MARCH, APRIL], org.nodes["province"].path)
    with db.transaction() as s:
        seat = s.scalars(select(Participant).where(Participant.session_id == scene["april_held"],
                                                   Participant.role == "representative")).one()
        s.expire(seat)
        s.delete(seat)
    with db.transaction() as s:
        assert set(s.scalars(select(StaleSessionMonth.month))) == {APRIL}
