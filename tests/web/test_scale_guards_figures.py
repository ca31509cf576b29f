"""The figures of a generated province of 20,000 matters on PostgreSQL (bench.province, as in test_scale_guards.py):
the province coordinator's dashboard, the province's and a county's monthly rates, the statistics page and the trend
API read without a sequential scan of matters, tasks or deadlines, in a bounded number of statements; an ended
month, once stored, is read back rather than counted again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.scale_world import GROUP, TODAY, checked
from vreception.models.figures import FigureMonth, MonthlyFigure

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(GROUP)]
GUARDED = ("matters", "tasks", "deadlines")
MONTH = "2026-10"  # ended: stored on the first read, then read back
# Who, path, page or API, and the most statements the request may take once its ended months are stored.
FIGURES = (
    ("province", f"/api/v1/stats/rates?month={MONTH}", "api", 8),
    ("county", f"/api/v1/stats/rates?month={MONTH}", "api", 8),
    ("county", "/api/v1/stats/trend", "api", 25),
    ("county", "/statistics", "page", 45),
    ("county", "/dashboard", "page", 40),
)
# The province's root reads the live month through the month's deadlines and their matters by key, the overdue
# counts through the index of open deadlines, and the 12-month registrations from the stored months.
PROVINCE = (
    ("province", "/dashboard", "page", 40),
    ("province", "/statistics", "page", 45),
    ("province", "/api/v1/stats/trend", "api", 25),
)


def test_figures_read_through_indexes_in_few_statements(generated, tmp_path):
    db, accounts = generated
    problems = checked(db, tmp_path, accounts, FIGURES, warm=True, scans=GUARDED)
    assert problems == [], "\n".join(p[:300] for p in problems)


def test_province_figures_read_through_indexes(generated, tmp_path):
    db, accounts = generated
    problems = checked(db, tmp_path, accounts, PROVINCE, warm=True, scans=GUARDED)
    assert problems == [], "\n".join(p[:300] for p in problems)


def test_an_ended_month_is_stored_once_and_matches_a_live_count(generated):
    from vreception.cases import monthly_figures, rates
    from vreception.models import Matter

    db, _ = generated
    month = TODAY.replace(day=1, month=9)
    with db.transaction() as session:
        stored = monthly_figures.monthly(db=session, month=month, paths=["/"])
        live = rates.monthly(db=session, month=month, within=Matter.handling_path.startswith("/"))
        assert stored == live and sum(u.timely_acceptance.denominator for u in stored) > 0
        assert session.scalar(select(func.count()).select_from(FigureMonth)
                              .where(FigureMonth.month == month)) == 1
        rows = session.scalar(select(func.count()).select_from(MonthlyFigure).where(MonthlyFigure.month == month))
    with db.transaction() as session:
        monthly_figures.monthly(db=session, month=month, paths=["/"])
        assert session.scalar(select(func.count()).select_from(MonthlyFigure)
                              .where(MonthlyFigure.month == month)) == rows
