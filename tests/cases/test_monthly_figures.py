"""Monthly figures of ended months stored once and read back (issue 16); a late event marks its month stale and the
next read counts it again; the current month is counted live; stored and live counts agree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.cases.helpers import travel
from tests.factories import FreshHeaders, act, register
from vreception.cases import monthly_figures, rates
from vreception.models import Matter
from vreception.models.figures import FigureMonth, MonthlyFigure, StaleFigure

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def _live(db, month: date) -> list[rates.UnitRates]:
    with db.transaction() as s:
        return rates.monthly(db=s, month=month, within=Matter.handling_path.startswith("/"))


def _stored(db, month: date, paths=("/",)) -> list[rates.UnitRates]:
    with db.transaction() as s:
        return monthly_figures.monthly(db=s, month=month, paths=list(paths))


def _count(db, model, **where) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def test_ended_month_is_stored_and_a_late_event_recounts_it(client, org, db):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    on_time, _ = register(client, org, headers=office, serial=1, summary="事项一")
    late, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 10)
    act(client, office, on_time["id"], "accept")
    travel(2026, 4, 2)  # March has ended: its figures are stored on first read
    api = client.get("/api/v1/stats/rates", params={"month": "2026-03"}, headers=office).json()
    assert api[0]["timely_acceptance"]["counts"] == {"in_time": 1, "overdue": 1}
    assert _count(db, FigureMonth, month=MARCH) == 1
    stored_rows = _count(db, MonthlyFigure, month=MARCH)
    assert stored_rows > 0
    assert _stored(db, MARCH) == _live(db, MARCH)
    # Of the current month only the finished days are stored (April 1st, on April 2nd).
    client.get("/api/v1/stats/rates", params={"month": "2026-04"}, headers=office)
    with db.transaction() as s:
        assert s.get(FigureMonth, (30, APRIL)).through == date(2026, 4, 1)

    # A late event: the March acceptance period is met late in April. The month is marked stale for the county …
    act(client, office, late["id"], "accept")
    assert _count(db, StaleFigure, month=MARCH) == 1
    # … and the next read counts it again: late, no longer overdue, exactly as a live count says.
    again = client.get("/api/v1/stats/rates", params={"month": "2026-03"}, headers=office).json()
    assert again[0]["timely_acceptance"]["counts"] == {"in_time": 1, "late": 1}
    assert _count(db, StaleFigure, month=MARCH) == 0
    assert _stored(db, MARCH) == _live(db, MARCH)


def test_unrated_part_stays_live_until_the_month_is_closed(client, org, db):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    matter, _ = register(client, org, headers=office, serial=1, summary="事项一")
    travel(2026, 3, 3)
    act(client, office, matter["id"], "accept")
    act(client, office, matter["id"], "reply", outcome="support", reason="支持。")
    travel(2026, 3, 4)
    act(client, office, matter["id"], "serve")  # rating window to 04-03: unrated in April
    travel(2026, 5, 2)  # April ended on 04-30, its last window (served 04-30) ends 05-30: not closed yet
    assert not monthly_figures.closed(APRIL, travel(2026, 5, 2), 30)
    assert _stored(db, APRIL) == _live(db, APRIL)
    april = {u.node_id: u for u in _stored(db, APRIL)}
    assert sum(u.participation.counts.get("unrated", 0) for u in april.values()) == 1
    with db.transaction() as s:
        assert s.get(FigureMonth, (30, APRIL)).complete is False
    travel(2026, 6, 2)  # closed now: counted again in full, the unrated part stored too
    assert _stored(db, APRIL) == _live(db, APRIL)
    with db.transaction() as s:
        assert s.get(FigureMonth, (30, APRIL)).complete is True
        assert s.scalar(select(func.count()).select_from(MonthlyFigure).where(
            MonthlyFigure.month == APRIL, MonthlyFigure.outcome == "unrated")) == 1


def test_trend_reads_the_stored_months_and_matches_live_counts(client, org, db):
    travel(2026, 1, 5)
    office = FreshHeaders(client, "coord.county")
    for serial in range(1, 4):
        register(client, org, headers=office, serial=serial, summary=f"事项{serial}")
    travel(2026, 4, 15)
    trend = client.get("/api/v1/stats/trend", params={"months": 4}, headers=office).json()
    by_month = {p["month"]: p for p in trend["points"]}
    assert by_month["2026-01"]["figures"]["timely_acceptance"]["denominator"] == 3
    assert by_month["2026-01"]["figures"]["repeat_petitions"]["denominator"] == 3
    assert by_month["2026-01"]["registered"] == 3
    with db.transaction() as s:
        stored = set(s.scalars(select(FigureMonth.month)))
    assert stored == {date(2026, 1, 1), date(2026, 2, 1), MARCH, APRIL}
    with db.transaction() as s:  # April, the current month: its days to yesterday, the rest live
        assert s.get(FigureMonth, (30, APRIL)).through == date(2026, 4, 14)
    # Reading it again computes nothing: the stored rows are read in one grouped query.
    with db.transaction() as s:
        found = monthly_figures.by_month(db=s, months=[date(2026, 1, 1), date(2026, 2, 1), MARCH], paths=["/"])
    assert found[date(2026, 1, 1)] == _live(db, date(2026, 1, 1))


def test_a_live_month_read_again_within_the_minute_is_not_counted_again_until_a_matter_changes(client, org, db):
    """The current month read now is kept for monthly_figures.LIVE_SECONDS (a province's pages share one count), but
    a change of a matter in this process shows at once."""
    from sqlalchemy import event

    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    first, _ = register(client, org, headers=office, serial=1, summary="事项一")
    register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 20)
    monthly_figures.forget_recent()
    province = [org.nodes["province"].path]
    seen: list[str] = []

    def listener(conn, cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        before = _stored(db, MARCH, province)
        counted = len(seen)
        assert _stored(db, MARCH, province) == before and len(seen) == counted  # the kept count, no statement
        act(client, office, first["id"], "accept")  # in time: the acceptance period is met
        seen.clear()
        after = _stored(db, MARCH, province)
        assert seen  # counted again
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert before[0].timely_acceptance.counts == {"overdue": 2}
    assert after[0].timely_acceptance.counts == {"late": 1, "overdue": 1}
    assert after == _live(db, MARCH)


def test_the_stored_months_read_now_are_kept_until_a_month_is_counted_again(client, org, db):
    """A read of now keeps the stored months' rows it sums for LIVE_SECONDS too (a province's year of them is 70,000
    rows), beside the live month; a month counted again (a late event) is read afresh."""
    from sqlalchemy import event

    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    _, _ = register(client, org, headers=office, serial=1, summary="事项一")
    late, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 4, 2)
    monthly_figures.forget_recent()
    province = [org.nodes["province"].path]
    months = [date(2026, 2, 1), MARCH]
    seen: list[str] = []

    def listener(conn, cursor, statement, *_args) -> None:
        if "FROM monthly_figures" in statement and "sum(" in statement:
            seen.append(statement)

    def totals() -> dict:
        with db.transaction() as s:
            return monthly_figures.totals_by_month(db=s, months=months, paths=province)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        before = totals()
        assert len(seen) == 1
        assert totals() == before and len(seen) == 1  # kept: the stored rows are not summed again
        act(client, office, late["id"], "accept")  # a late event of March: counted again on the next read
        after = totals()
        assert len(seen) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert before[MARCH].timely_acceptance.counts == {"overdue": 2}
    assert after[MARCH].timely_acceptance.counts == {"late": 1, "overdue": 1}


def test_a_live_month_kept_past_the_minute_is_served_at_once_while_a_thread_counts_it_again(client, org, db):
    """A kept live count older than LIVE_SECONDS (by less than STALE_SECONDS) is served to the read without counting on
    its thread, and a thread counts it again: the next read has what another process changed meanwhile."""
    import threading
    import time

    from sqlalchemy import event

    travel(2026, 3, 20)
    office = FreshHeaders(client, "coord.county")
    register(client, org, headers=office, serial=1, summary="事项一")
    monthly_figures.forget_recent()
    province = [org.nodes["province"].path]
    before = _stored(db, MARCH, province)
    register(client, org, headers=office, serial=2, summary="事项二", category="land")
    with monthly_figures._live_lock:
        for kept in monthly_figures._live.values():
            kept.changed.clear()  # as if another process had registered it: this process's flushes did not see it
            kept.expires -= monthly_figures.LIVE_SECONDS + 1  # kept for longer than the minute
    reader = threading.get_ident()
    counted: list[str] = []

    def listener(conn, cursor, statement, *_args) -> None:
        if threading.get_ident() == reader and "FROM deadlines" in statement:
            counted.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        served = _stored(db, MARCH, province)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert served == before and not counted  # the kept count, at once
    waited = time.monotonic() + 20
    while (after := _stored(db, MARCH, province)) == before and time.monotonic() < waited:
        time.sleep(0.05)
    assert after != before and after == _live(db, MARCH)
