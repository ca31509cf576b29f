"""The official Chinese working-day calendar (with 调休), and statutory due dates over it.

Years 2004–2026 come from the `chinesecalendar` package; later years from a data file an
administrator loads (`vreception calendar load`). A year known to neither falls back to
"weekends off" and every date computed over it is marked provisional.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
from sqlalchemy import delete, null, select, union_all
from sqlalchemy.orm import Session

from vreception import audit
from vreception.errors import Invalid
from vreception.models.calendar import CalendarDay, CalendarYear

PACKAGE_YEARS = range(2004, max(d.year for d in chinese_calendar.holidays) + 1)

# The package's answer for a day never changes while the process runs, but each call scans every
# holiday it knows (min/max over the whole table): a plan's occurrences ask it hundreds of times.
_package_workday = lru_cache(maxsize=16384)(chinese_calendar.is_workday)


@dataclass(frozen=True)
class DueDate:
    """A computed deadline day, and whether it rests on a year with no official calendar yet."""

    day: date
    provisional: bool


@dataclass
class WorkCalendar:
    """Working days: the package's years, loaded years (which override), weekends-only otherwise."""

    loaded: dict[date, bool] = field(default_factory=dict)
    loaded_years: set[int] = field(default_factory=set)

    def is_official(self, year: int) -> bool:
        return year in self.loaded_years or year in PACKAGE_YEARS

    def is_workday(self, day: date) -> bool:
        if day.year in self.loaded_years:
            return self.loaded.get(day, day.weekday() < 5)
        if day.year in PACKAGE_YEARS:
            workday: bool = _package_workday(day)  # chinese_calendar is untyped
            return workday
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """DAY itself if it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which the DAYS-th working day after START falls."""
        day = start
        for _ in range(days):
            day = self.next_workday(day + timedelta(days=1))
        return day

    def due(self, start: date, days: int, *, working_days: bool = False, move_off_holidays: bool = True) -> DueDate:
        """The last day of a period of DAYS counted from START (calendar or working days)."""
        if working_days:
            end = self.add_working_days(start, days)
        else:
            end = start + timedelta(days=days)
            if move_off_holidays:
                end = self.next_workday(end)
        years = range(start.year, end.year + 1)
        return DueDate(end, provisional=not all(self.is_official(y) for y in years))


# The loaded years and their days in one round trip (year rows have no day).
_DAYS, _YEARS = CalendarDay.__table__, CalendarYear.__table__
_CALENDAR_ROWS = union_all(select(_DAYS.c.year, _DAYS.c.day, _DAYS.c.is_workday), select(_YEARS.c.year, null(), null()))
_cache_lock = threading.Lock()
_cached: WorkCalendar | None = None


def load_calendar(*, db: Session) -> WorkCalendar:
    """The calendar with every administrator-loaded year.

    Read fresh from the database on every call (another process may have loaded a year); the
    previous calendar object is handed back, with its answers, when nothing changed.
    """
    global _cached
    loaded_years, loaded = set(), {}
    for year, day, is_workday in db.execute(_CALENDAR_ROWS):
        if day is None:
            loaded_years.add(year)
        else:
            loaded[day] = bool(is_workday)
    with _cache_lock:
        cached = _cached
        if cached is not None and cached.loaded_years == loaded_years and cached.loaded == loaded:
            return cached
    calendar = WorkCalendar(loaded=loaded, loaded_years=loaded_years)
    with _cache_lock:
        _cached = calendar
    return calendar


def load_year_file(path: Path, *, db: Session, actor_id: int | None = None) -> CalendarYear:
    """Load (or replace) a year's official days from a JSON file of the State Council notice.

    Format: {"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}, …],
             "workdays": [{"date": "2027-02-07", "name": "春节调休"}, …]}
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        year = int(data["year"])
        holidays = [(date.fromisoformat(d["date"]), d.get("name", "")) for d in data.get("holidays", [])]
        workdays = [(date.fromisoformat(d["date"]), d.get("name", "")) for d in data.get("workdays", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Invalid("error.calendar_file", field="file", reason=str(exc)) from None
    days = holidays + workdays
    if not 2000 <= year <= 2100 or any(d.year != year for d, _ in days):
        raise Invalid("error.calendar_year", field="year", year=year)
    if len({d for d, _ in days}) != len(days):
        raise Invalid("error.calendar_duplicate", field="file")
    db.execute(delete(CalendarDay).where(CalendarDay.year == year))
    record = db.get(CalendarYear, year)
    if record is None:
        record = CalendarYear(year=year)
        db.add(record)
    record.source, record.loaded_by = str(path)[-200:], actor_id
    db.flush()
    db.add_all(CalendarDay(day=d, year=year, is_workday=False, name=n) for d, n in holidays)
    db.add_all(CalendarDay(day=d, year=year, is_workday=True, name=n) for d, n in workdays)
    db.flush()
    audit.record(db=db, action="calendar.loaded", entity_type="calendar", entity_id=year, actor_id=actor_id,
                 data={"holidays": len(holidays), "workdays": len(workdays), "source": record.source})
    return record
