"""The working-day calendar: 调休 make-up days, holidays, loaded years, provisional fallback."""

from __future__ import annotations

import json
from datetime import date

import pytest

from vreception.errors import Invalid
from vreception.workdays import WorkCalendar, load_calendar, load_year_file


def test_make_up_workdays_and_holidays_of_2026():
    calendar = WorkCalendar()
    assert calendar.is_workday(date(2026, 9, 20))  # a Sunday worked for National Day (调休)
    assert not calendar.is_workday(date(2026, 10, 5))  # National Day holiday, a Monday
    assert calendar.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_due_moves_off_holiday_by_setting():
    calendar = WorkCalendar()
    moved = calendar.due(date(2026, 9, 20), 15)
    assert moved.day == date(2026, 10, 8) and not moved.provisional
    assert calendar.due(date(2026, 9, 20), 15, move_off_holidays=False).day == date(2026, 10, 5)


def test_unknown_year_falls_back_to_weekends_and_is_provisional():
    calendar = WorkCalendar()
    due = calendar.due(date(2026, 12, 20), 15)
    assert due.day == date(2027, 1, 4) and due.provisional  # a Monday under the weekends-only rule
    assert not calendar.is_official(2027) and calendar.is_official(2026)


def _write(tmp_path, payload) -> str:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def test_loaded_year_is_official_and_overrides(db, tmp_path):
    path = _write(tmp_path, {"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"},
                                                        {"date": "2027-01-04", "name": "假设休息"}],
                             "workdays": [{"date": "2027-01-09", "name": "调休上班"}]})
    with db.transaction() as session:
        load_year_file(path, db=session)
    with db.transaction() as session:
        calendar = load_calendar(db=session)
    assert calendar.is_official(2027)
    assert not calendar.is_workday(date(2027, 1, 4)) and calendar.is_workday(date(2027, 1, 9))
    due = calendar.due(date(2026, 12, 20), 15)
    assert due.day == date(2027, 1, 5) and not due.provisional


@pytest.mark.parametrize("payload", [
    {"year": 2027, "holidays": [{"date": "2028-01-01"}]},
    {"year": 2027, "holidays": [{"date": "2027-13-01"}]},
    {"year": 2027, "holidays": [{"date": "2027-01-01"}], "workdays": [{"date": "2027-01-01"}]},
    {"holidays": []},
])
def test_bad_calendar_files_are_refused_and_nothing_is_loaded(db, tmp_path, payload):
    with pytest.raises(Invalid):
        with db.transaction() as session:
            load_year_file(_write(tmp_path, payload), db=session)
    with db.transaction() as session:
        assert not load_calendar(db=session).loaded_years
