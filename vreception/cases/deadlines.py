"""The statutory clock of a matter: which deadlines a step opens, when they fall, how they end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from vreception.models import Deadline, DeadlineState, Matter
from vreception.workdays import WorkCalendar, load_calendar

# Deadline days are counted in settings.time_zone; the app factory and the CLI set it once at start-up.
_zone = ZoneInfo("Asia/Shanghai")


def use_time_zone(name: str) -> None:
    """Count deadline days in the time zone NAME from now on (VRECEPTION_TIME_ZONE)."""
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    """The time zone deadline days are counted in."""
    return _zone


@dataclass(frozen=True)
class Rule:
    """A period of the Regulations: its length and whether it counts working days (工作日)."""

    days: int
    working_days: bool = False
    article: str = ""


RULES = {
    # Register, then accept / transfer / assign and tell the petitioner: 15 days (Arts. 22, 23).
    "acceptance": Rule(15, article="22, 23"),
    # The receiving body may object that the matter is not within its remit: 5 working days (Art. 23).
    "remit_objection": Rule(5, working_days=True, article="23"),
    # Handle and reply: 60 days from acceptance, one extension of up to 30 (Art. 34).
    "handling": Rule(60, article="34"),
    # Ask for review within 30 days of the reply; decide within 30 (Art. 35).
    "review_request": Rule(30, article="35"),
    "review_decision": Rule(30, article="35"),
    # Ask for second review within 30 days; decide within 30, hearing days not counted (Art. 36).
    "recheck_request": Rule(30, article="36"),
    "recheck_decision": Rule(30, article="36"),
    # 交办: the unit reports completion (办结报告) by the day the assigning office sets (Art. 22).
    "completion": Rule(0, article="22"),
}
MAX_EXTENSION_DAYS = 30


def local_day(moment: datetime) -> date:
    """The calendar day of MOMENT in the deadlines' time zone."""
    return moment.astimezone(_zone).date()


def end_of_day(day: date) -> datetime:
    """The last instant of DAY in the deadlines' time zone."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), _zone) - timedelta(microseconds=1)


def open_deadline(matter: Matter, kind: str, start: datetime, *, db: Session, calendar: WorkCalendar | None = None,
                  moves_off_holidays: bool = True, days: int | None = None) -> Deadline:
    """Start the KIND period of MATTER at START (replacing an open one of the same kind)."""
    rule = RULES[kind]
    calendar = calendar or load_calendar(db=db)
    start_day = local_day(start)
    due = calendar.due(start_day, days if days is not None else rule.days, working_days=rule.working_days,
                       move_off_holidays=moves_off_holidays)
    for existing in matter.deadlines:
        if existing.kind == kind and existing.state is DeadlineState.open:
            existing.state = DeadlineState.cancelled
    # A period of a length set case by case keeps its difference to the rule, so shifts and recomputes keep it.
    deadline = Deadline(kind=kind, start_day=start_day, due_day=due.day, provisional=due.provisional,
                        extra_days=days - rule.days if days is not None else 0)
    matter.deadlines.append(deadline)
    db.flush()
    return deadline


def current(matter: Matter, kind: str) -> Deadline | None:
    """The latest deadline of KIND (open or ended)."""
    found = [d for d in matter.deadlines if d.kind == kind and d.state is not DeadlineState.cancelled]
    return found[-1] if found else None


def is_past(deadline: Deadline, at: datetime) -> bool:
    """Whether AT is after the end of the deadline's due day."""
    return local_day(at) > deadline.due_day


def finish(matter: Matter, kind: str, at: datetime) -> Deadline | None:
    """Mark the open KIND deadline met, or missed if AT is past its day."""
    deadline = current(matter, kind)
    if deadline is None or deadline.state is not DeadlineState.open:
        return deadline
    deadline.state = DeadlineState.missed if is_past(deadline, at) else DeadlineState.met
    deadline.done_at = at
    return deadline


def cancel(matter: Matter, kind: str) -> None:
    """Drop an open KIND deadline that no longer applies."""
    deadline = current(matter, kind)
    if deadline is not None and deadline.state is DeadlineState.open:
        deadline.state = DeadlineState.cancelled


def shift(matter: Matter, kind: str, extra_days: int, *, db: Session, calendar: WorkCalendar | None = None,
          moves_off_holidays: bool = True) -> Deadline | None:
    """Push the open KIND deadline EXTRA_DAYS further (an extension, or hearing days that do not count)."""
    deadline = current(matter, kind)
    if deadline is None or deadline.state is not DeadlineState.open:
        return deadline
    calendar = calendar or load_calendar(db=db)
    deadline.extra_days += extra_days
    # Recomputed from the start, so an end already moved off a holiday is not moved twice.
    due = calendar.due(deadline.start_day, RULES[kind].days + deadline.extra_days,
                       working_days=RULES[kind].working_days, move_off_holidays=moves_off_holidays)
    deadline.due_day, deadline.provisional = due.day, due.provisional
    db.flush()
    return deadline


def recompute_provisional(*, db: Session, moves_off_holidays: bool = True) -> int:
    """Recompute every open provisional deadline (after a year's official calendar was loaded)."""
    from sqlalchemy import select

    calendar = load_calendar(db=db)
    changed = 0
    for deadline in db.scalars(select(Deadline).where(Deadline.provisional.is_(True),
                                                           Deadline.state == DeadlineState.open)):
        rule = RULES[deadline.kind]
        due = calendar.due(deadline.start_day, rule.days + deadline.extra_days, working_days=rule.working_days,
                           move_off_holidays=moves_off_holidays)
        deadline.due_day, deadline.provisional = due.day, due.provisional
        changed += 1
    db.flush()
    return changed
