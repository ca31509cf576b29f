"""Statistics over a range of months (统计): rates summed over months, matters by channel and category, overdue at
the range's end, video receptions per leader and level, the child units' breakdown, subtree scoping, the trend."""

from __future__ import annotations

from datetime import date

import pytest

from scheduling import statistics_report as report
from tests.cases.statistics_scene import MARCH_APRIL, build
from vreception.auth.access import principal_for
from vreception.cases import statistics as figures
from vreception.errors import Forbidden, Invalid
from vreception.models import Person


@pytest.fixture
def scene(db, org):
    """March–April 2026 in the city (tests/cases/statistics_scene.py)."""
    return build(db, org)


def test_range_rates_sum_numerators_and_denominators(db, scene):
    with db.transaction() as s:
        city = s.get(type(scene.nodes["city"]), scene.nodes["city"].id)
        found = report.summary(db=s, node=city, months=MARCH_APRIL)
        march = report.summary(db=s, node=city, months=MARCH_APRIL[:1])
    # March 1 of 2 on time, April 0 of 1: over the range 1 of 3, not the average of 50 % and 0 %.
    on_time = found.figures["on_time_completion"]
    assert (on_time.numerator, on_time.denominator, on_time.rate) == (1, 3, round(1 / 3, 4))
    assert march.figures["on_time_completion"].rate == 0.5
    assert found.registered == 3 and found.by_channel == {"video": 3}
    # A matter counts once per category, whatever the number of its demands in it.
    assert found.by_category == {"wages": 2, "housing": 1, "land": 1}
    # At the end of April: county A's open April deadline; county B's replied on 04-02.
    assert found.overdue == 1 and [(u.node_name, u.overdue) for u in found.overdue_units] == [("城东区", 1)]
    # At the end of March: county B's, replied only in April.
    assert march.overdue == 1 and march.overdue_units[0].node_name == "城西区"


def test_receptions_per_leader_and_level(db, scene):
    with db.transaction() as s:
        province = s.get(type(scene.nodes["province"]), scene.nodes["province"].id)
        found = report.summary(db=s, node=province, months=MARCH_APRIL)
    leaders = {row.name: row.sessions for row in found.by_leader}
    county, city = leaders["测试leader_county"], leaders["测试leader_city"]
    assert (county.held, county.persons, county.no_show, county.cancelled) == (2, 4, 1, 1)
    assert (city.held, city.persons) == (1, 2)  # May's session is outside the range
    levels = {row.level: (row.sessions.held, row.sessions.persons) for row in found.by_level}
    assert levels == {"county": (2, 4), "city": (1, 2)}
    assert (found.sessions.held, found.sessions.persons, found.sessions.no_show) == (3, 6, 1)
    # The province's only child is the city: everything rolls up into it.
    assert [(c.node_name, c.sessions.held, c.registered) for c in found.children] == [("岚州市", 3, 3)]


def test_children_breakdown_and_ranking(db, scene):
    with db.transaction() as s:
        city = s.get(type(scene.nodes["city"]), scene.nodes["city"].id)
        by_rate = report.summary(db=s, node=city, months=MARCH_APRIL)
        by_held = report.summary(db=s, node=city, months=MARCH_APRIL, sort="held")
        by_overdue = report.summary(db=s, node=city, months=MARCH_APRIL, sort="overdue")
    rows = {c.node_name: c for c in by_rate.children}
    assert set(rows) == {"城东区", "城西区"}
    assert rows["城东区"].figures["on_time_completion"].denominator == 2
    assert rows["城西区"].figures["on_time_completion"].rate == 0.0
    # The city leader's session belongs to the city itself, to no child.
    assert (rows["城东区"].sessions.held, rows["城西区"].sessions.held) == (2, 0)
    assert [(c.node_name, c.rank) for c in by_rate.children] == [("城东区", 1), ("城西区", 2)]
    assert [(c.node_name, c.rank) for c in by_held.children] == [("城东区", 1), ("城西区", 2)]
    assert [(c.node_name, c.rank) for c in by_overdue.children] == [("城西区", 1), ("城东区", 2)]


def test_subtree_scoping(db, scene):
    with db.transaction() as s:
        county2 = s.get(Person, scene.people["coord_county2"].id)
        principal = principal_for(county2)
        assert report.reader_node(principal, None, db=s).id == scene.nodes["county2"].id
        with pytest.raises(Forbidden):
            report.reader_node(principal, scene.nodes["county"].id, db=s)
        with pytest.raises(Forbidden):
            report.reader_node(principal_for(s.get(Person, scene.people["handler"].id)), None, db=s)
        mine = report.summary(db=s, node=report.reader_node(principal, None, db=s), months=MARCH_APRIL)
    assert mine.registered == 1 and mine.by_category == {"housing": 1}
    assert mine.sessions.held == 0 and mine.by_leader == []
    assert [(c.node_name, c.registered, c.rank) for c in mine.children] == [("白沙镇", 0, None)]


def test_trend_months(db, scene):
    with db.transaction() as s:
        city = s.get(type(scene.nodes["city"]), scene.nodes["city"].id)
        found = report.trend(db=s, node=city, last=date(2026, 5, 1), count=4)
    assert [p.month for p in found.points] == ["2026-02", "2026-03", "2026-04", "2026-05"]
    assert [p.registered for p in found.points] == [0, 2, 1, 0]
    assert [p.held for p in found.points] == [0, 1, 2, 1]
    assert [p.figures["on_time_completion"].rate for p in found.points] == [None, 0.5, 0.0, None]


def test_month_ranges():
    assert figures.month_range("2025-11", "2026-02") == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1),
                                                        date(2026, 2, 1)]
    assert figures.month_range(None, "2026-02") == [date(2026, 2, 1)]
    assert len(figures.month_range("2024-03", "2026-02")) == 24
    for start, end in (("2024-02", "2026-02"), ("2026-03", "2026-02"), ("2026-13", None), ("26-01", None)):
        with pytest.raises(Invalid):
            figures.month_range(start, end)
