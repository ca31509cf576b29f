"""The month-end job stores the month just ended for every unit before anyone reads it, stores it again once its
rating windows have closed, and counts again what a late event marked stale; reads without the job still count what
is missing (issue 16)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.cases.helpers import at, stored_through, travel
from tests.factories import FreshHeaders, act, register
from vreception import jobs
from vreception.cases import monthly_figures, rates
from vreception.models import Matter
from vreception.models.figures import FigureMonth, MonthlyFigure, StaleFigure

JANUARY, FEBRUARY, MARCH, APRIL = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def _stored_months(db) -> dict[date, bool]:
    with db.transaction() as s:
        return {row.month: row.complete for row in s.scalars(select(FigureMonth)) if row.through is None}


def _rows(db, month: date) -> list[tuple]:
    with db.transaction() as s:
        return sorted(s.execute(select(MonthlyFigure.handling_node_id, MonthlyFigure.unit_id, MonthlyFigure.figure,
                                       MonthlyFigure.outcome, MonthlyFigure.n).where(MonthlyFigure.month == month)))


def _live(db, month: date) -> list[rates.UnitRates]:
    with db.transaction() as s:
        return rates.monthly(db=s, month=month, within=Matter.handling_path.startswith("/"))


def _read(db, month: date) -> list[rates.UnitRates]:
    with db.transaction() as s:
        return monthly_figures.monthly(db=s, month=month, paths=["/"])


def _job(db, settings, moment) -> object:
    return jobs.run_once(settings, [jobs.month_end_figures], moment, db=db)["month_end_figures"]


def test_the_job_stores_the_month_just_ended_then_again_when_it_closes_or_a_late_event_changes_it(
        client, org, db, settings):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    on_time, _ = register(client, org, headers=office, serial=1, summary="事项一")
    late, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 10)
    act(client, office, on_time["id"], "accept")
    # Before March ends the job stores the ended months whose windows may still close (January and February, no
    # matters: stored empty and closed), and of March its finished days.
    assert _job(db, settings, at(2026, 3, 31, 23)) == 3
    assert _stored_months(db) == {JANUARY: True, FEBRUARY: True}
    assert stored_through(db, MARCH) == date(2026, 3, 30)

    # Shortly after the month end, March is stored for every unit before anyone reads it, not yet closed.
    travel(2026, 4, 1, 0, 5)
    assert _job(db, settings, at(2026, 4, 1, 0, 5)) == 1
    assert _stored_months(db) == {JANUARY: True, FEBRUARY: True, MARCH: False}
    assert stored_through(db, MARCH) is None and stored_through(db, APRIL) is None  # whole; April has no finished day yet
    march = _rows(db, MARCH)
    assert ("timely_acceptance", "overdue", 1) in {(f, o, n) for _, _, f, o, n in march}
    # Run again: nothing to count.
    assert _job(db, settings, at(2026, 4, 1, 0, 6)) == 0 and _rows(db, MARCH) == march

    # A read finds it stored: the same figures as a live count, and no month is counted again.
    assert _read(db, MARCH) == _live(db, MARCH)
    assert _rows(db, MARCH) == march

    # A late event on a March matter marks March stale; the next run counts it again, before any read.
    travel(2026, 4, 3)
    act(client, office, late["id"], "accept")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(StaleFigure)) == 1
    assert _job(db, settings, at(2026, 4, 3, 11)) == 2  # March again, and April's finished days
    assert stored_through(db, APRIL) == date(2026, 4, 2)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(StaleFigure)) == 0
    outcomes = {(f, o): n for _, _, f, o, n in _rows(db, MARCH)}
    assert outcomes[("timely_acceptance", "late")] == 1 and ("timely_acceptance", "overdue") not in outcomes
    travel(2026, 4, 3, 11)
    assert _read(db, MARCH) == _live(db, MARCH)

    # Thirty days after the month end its rating windows have closed: stored again, complete; April is stored too.
    assert _job(db, settings, at(2026, 5, 1, 0, 5)) == 2
    assert _stored_months(db) == {JANUARY: True, FEBRUARY: True, MARCH: True, APRIL: False}
    travel(2026, 5, 1, 0, 10)
    assert _read(db, MARCH) == _live(db, MARCH)


def test_without_the_job_a_read_still_counts_and_stores_the_ended_month(client, org, db):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    register(client, org, headers=office, serial=1, summary="事项一")
    travel(2026, 4, 2)
    assert _stored_months(db) == {}
    answer = client.get("/api/v1/stats/rates", params={"month": "2026-03"}, headers=office).json()
    assert answer[0]["timely_acceptance"]["counts"] == {"overdue": 1}
    assert _stored_months(db) == {MARCH: False}


def test_the_job_is_a_core_job():
    assert jobs.month_end_figures in jobs.CORE_JOBS


def test_two_writers_of_one_month_store_it_once(client, org, db):
    """The job in two processes (or a reader beside it): the second waits for the first and finds the month stored
    (PostgreSQL's advisory lock; SQLite has one writer at a time anyway)."""
    import threading

    travel(2026, 3, 2)
    register(client, org, headers=FreshHeaders(client, "coord.county"), serial=1, summary="事项一")
    moment = travel(2026, 4, 2)
    results: dict[str, int] = {}
    with db.transaction() as first:
        results["first"] = monthly_figures.store_ended(db=first, at=moment)

        def second() -> None:
            with db.transaction() as s:
                results["second"] = monthly_figures.store_ended(db=s, at=moment)

        other = threading.Thread(target=second)
        if db.backend == "postgresql":
            other.start()
            other.join(timeout=1.0)
            assert other.is_alive()  # waiting on the first writer's lock
    if db.backend != "postgresql":
        other.start()
    other.join(timeout=30)
    assert results == {"first": 4, "second": 0}  # January, February, March, April's first day
    assert _stored_months(db) == {JANUARY: True, FEBRUARY: True, MARCH: False}
