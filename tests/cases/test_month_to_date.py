"""The current month's finished days stored as they end, the rest counted live (issue 16): the figures equal a full
live count at every step, after a late event on an earlier day of the month, as the days advance and across the month
boundary; the stored days add up to what one count of them stores."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, select

from tests.cases.helpers import at, stored_through, travel
from tests.factories import FreshHeaders, act, register
from vreception.cases import monthly_figures, rates
from vreception.models import Matter
from vreception.models.figures import FigureMonth, MonthlyFigure, StaleFigure

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def _both(db, month: date, paths: list[str]) -> tuple[list[rates.UnitRates], list[rates.UnitRates]]:
    """MONTH's figures over PATHS read now (stored days and the live rest), and counted live whole."""
    within = Matter.handling_path.startswith(paths[0])
    with db.transaction() as s:
        read = monthly_figures.monthly(db=s, month=month, paths=paths)
    with db.transaction() as s:
        return read, rates.monthly(db=s, month=month, within=within)


def _agree(db, org, month: date) -> list[rates.UnitRates]:
    """The province's and a county's figures of MONTH agree with a live count; the province's returned."""
    for path in (org.nodes["province"].path, org.nodes["county"].path):
        read, live = _both(db, month, [path])
        assert read == live, (path, read, live)
    return _both(db, month, [org.nodes["province"].path])[0]


def _rows(db, month: date) -> list[tuple]:
    with db.transaction() as s:
        return sorted(tuple(r) for r in s.execute(select(
            MonthlyFigure.handling_node_id, MonthlyFigure.unit_id, MonthlyFigure.figure, MonthlyFigure.outcome,
            MonthlyFigure.n, MonthlyFigure.good, MonthlyFigure.counted).where(MonthlyFigure.month == month)))


def _marks(db, month: date) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(StaleFigure).where(StaleFigure.month == month)) or 0)


def _summed(found: list[rates.Counted]) -> dict[tuple, tuple[int, int, int]]:
    out: dict[tuple, tuple[int, int, int]] = {}
    for c in found:
        n, good, counted = out.get(c[:4], (0, 0, 0))
        out[c[:4]] = (n + c.n, good + c.good, counted + c.counted)
    return out


def test_finished_days_stored_and_the_rest_live_equal_a_live_count(client, org, db):
    travel(2026, 2, 2)
    office = FreshHeaders(client, "coord.county")
    early, _ = register(client, org, headers=office, serial=1, summary="事项一")
    travel(2026, 2, 3)
    act(client, office, early["id"], "accept")
    act(client, office, early["id"], "reply", outcome="support", reason="支持。")
    act(client, office, early["id"], "serve")  # its rating window ends 03-05: unrated on a day of March
    travel(2026, 3, 2)
    on_time, _ = register(client, org, headers=office, serial=2, summary="事项二")
    late, _ = register(client, org, headers=office, serial=3, summary="事项三", category="land")
    handed, _ = register(client, org, headers=office, serial=4, summary="事项四", category="housing")
    legal, _ = register(client, org, headers=office, serial=5, summary="事项五", category="social_security")
    travel(2026, 3, 10)
    act(client, office, on_time["id"], "accept")
    act(client, office, handed["id"], "transfer", to_node_id=org.nodes["county_dept"].id, reason="属人社部门职责。")
    act(client, office, legal["id"], "route_legal", channel="litigation", reason="属于诉讼程序。")

    # March 20th: the 1st to the 19th stored on the first read, the 20th to the 31st counted live.
    travel(2026, 3, 20)
    before = _agree(db, org, MARCH)
    assert stored_through(db, MARCH) == date(2026, 3, 19)
    assert sum(u.timely_acceptance.counts.get("overdue", 0) for u in before) == 1
    assert sum(u.participation.counts.get("unrated", 0) for u in before) == 1

    # A matter of today changes nothing stored: no mark.
    register(client, org, headers=office, serial=6, summary="事项六", category="land")
    assert _marks(db, MARCH) == 0
    # A late event on an earlier day of the month (the acceptance period due on the 17th met on the 20th) marks the
    # month's stored days of the county; the next read counts them again: late, no longer overdue.
    act(client, office, late["id"], "accept")
    assert _marks(db, MARCH) == 1
    after = _agree(db, org, MARCH)
    assert _marks(db, MARCH) == 0
    assert sum(u.timely_acceptance.counts.get("late", 0) for u in after) == 1
    assert sum(u.timely_acceptance.counts.get("overdue", 0) for u in after) == 0

    # Days later: the days ended since are counted and added; the sums are what one count of the days stores.
    travel(2026, 3, 24)
    _agree(db, org, MARCH)
    assert stored_through(db, MARCH) == date(2026, 3, 23)
    added = _rows(db, MARCH)
    with db.transaction() as s:
        s.execute(delete(MonthlyFigure).where(MonthlyFigure.month == MARCH))
        s.execute(delete(FigureMonth).where(FigureMonth.month == MARCH))
    monthly_figures.forget_recent()
    _agree(db, org, MARCH)
    assert _rows(db, MARCH) == added

    # One pass parted at a day finds what a count of each part finds.
    with db.transaction() as s:
        for split in (date(2026, 3, 5), date(2026, 3, 17), date(2026, 3, 23)):
            parted = rates.counted_split(db=s, month=MARCH, split=split)
            assert [_summed(p) for p in parted] == [
                _summed(rates.counted(db=s, month=MARCH, days=(date(2026, 3, 1), split))),
                _summed(rates.counted(db=s, month=MARCH, days=(split + timedelta(days=1), date(2026, 3, 31))))]

    # A read at a moment before the stored days counts the month live at that moment.
    with db.transaction() as s:
        earlier = monthly_figures.monthly(db=s, month=MARCH, paths=["/"], at=at(2026, 3, 15))
        assert earlier == rates.monthly(db=s, month=MARCH, within=Matter.handling_path.startswith("/"),
                                        at=at(2026, 3, 15))

    # The month's last day, late evening: all but the 31st stored.
    travel(2026, 3, 31, 23)
    _agree(db, org, MARCH)
    assert stored_through(db, MARCH) == date(2026, 3, 30)
    # Past midnight March has ended: counted whole; April has no finished day yet and is counted live.
    travel(2026, 4, 1, 0, 5)
    _agree(db, org, MARCH)
    assert stored_through(db, MARCH) is None
    _agree(db, org, APRIL)
    assert stored_through(db, APRIL) is None
    travel(2026, 4, 2)
    _agree(db, org, APRIL)
    assert stored_through(db, APRIL) == date(2026, 4, 1)
    _agree(db, org, MARCH)


def test_a_rating_and_a_repeat_link_on_an_earlier_day_recount_the_stored_days(client, org, db):
    from vreception.models import RepeatLink

    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    first, _ = register(client, org, headers=office, serial=1, summary="事项一")
    travel(2026, 3, 3)
    act(client, office, first["id"], "accept")
    act(client, office, first["id"], "reply", outcome="support", reason="支持。")
    act(client, office, first["id"], "serve")
    travel(2026, 3, 5)
    again, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 12)
    _agree(db, org, MARCH)
    assert stored_through(db, MARCH) == date(2026, 3, 11)
    with db.transaction() as s:  # registered on the 5th: now a repeat petition on a stored day
        s.add(RepeatLink(matter_id=again["id"], earlier_id=first["id"], similarity=90))
    assert _marks(db, MARCH) == 1
    figures = _agree(db, org, MARCH)
    assert sum(u.repeat_petitions.counts.get("repeat", 0) for u in figures) == 1
    assert client.post(f"/api/v1/public/matters/{first['number']}/rating",
                       json={"code": first["query_code"], "rating": "satisfied"}).status_code == 200
    figures = _agree(db, org, MARCH)
    assert sum(u.satisfaction.counts.get("satisfied", 0) for u in figures) == 1


def test_a_change_in_one_unit_recounts_only_that_unit_of_the_kept_count(client, org, db):
    """A read of now keeps the province's month; a matter changed in this process recounts the kept rows of its
    handling node only (a county's few matters, not the province's day), and the figures still equal a live count."""
    from sqlalchemy import event

    travel(2026, 3, 2)
    east, west = FreshHeaders(client, "coord.county"), FreshHeaders(client, "coord.county2")
    late, _ = register(client, org, headers=east, serial=1, summary="事项一")
    register(client, org, headers=west, serial=2, summary="事项二", category="land",
             origin_node_id=org.nodes["township2"].id, handling_node_id=org.nodes["county2"].id)
    today, _ = register(client, org, headers=west, serial=3, summary="事项三", category="housing",
                        origin_node_id=org.nodes["township2"].id, handling_node_id=org.nodes["county2"].id)
    travel(2026, 3, 20)
    monthly_figures.forget_recent()
    province = [org.nodes["province"].path]
    before = _agree(db, org, MARCH)
    seen: list[str] = []

    def listener(conn, cursor, statement, *_args) -> None:
        if "count(*)" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        act(client, east, late["id"], "accept")  # the acceptance period of the 17th met late, in the east county
        with db.transaction() as s:
            after = monthly_figures.monthly(db=s, month=MARCH, paths=province)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert seen and all("handling_node_id IN" in statement for statement in seen)
    assert after == _both(db, MARCH, province)[1]
    assert after != before
    assert [u for u in after if u.node_id == org.nodes["county2"].id] == \
        [u for u in before if u.node_id == org.nodes["county2"].id]
    act(client, west, today["id"], "accept")  # in time, today: the west county's kept rows counted again
    assert _agree(db, org, MARCH) == _both(db, MARCH, province)[1]


def test_an_open_period_of_a_matter_in_legal_channels_is_left_out_before_its_day(client, org, db):
    """A matter of legal channels whose acceptance period is still open before its day (written past the services)
    counts in legal_excluded of the month the period is due, in the stored days and in the live rest alike."""
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    matter, _ = register(client, org, headers=office, serial=1, summary="事项一")  # acceptance due on the 17th
    with db.transaction() as s:
        s.get(Matter, matter["id"]).outcome = "legal_channel:litigation"
    travel(2026, 3, 10)
    figures = _agree(db, org, MARCH)
    assert sum(u.legal_excluded for u in figures) == 1
    assert sum(u.timely_acceptance.denominator for u in figures) == 0
    travel(2026, 3, 20)  # past its day, still open: stored with the finished days
    figures = _agree(db, org, MARCH)
    assert sum(u.legal_excluded for u in figures) == 1
