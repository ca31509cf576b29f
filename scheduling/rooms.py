"""Rooms' opening hours and closures, and when a room is open."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduling.intervals import Interval, normalise, subtract
from scheduling.policy import Policy, local_moment
from vreception import audit
from vreception.errors import Invalid
from vreception.models.org import Room
from vreception.models.scheduling import RoomClosure, RoomHours
from vreception.workdays import WorkCalendar

# A room that declares no hours is open on working days during office hours.
DEFAULT_HOURS = ((None, time(8, 0), time(18, 0)),)


def set_room_hours(*, db: Session, room: Room, hours: list[tuple[int | None, time, time]],
                   actor_id: int | None = None) -> list[RoomHours]:
    """Replace a room's opening hours: (weekday or None for every working day, opens, closes)."""
    for weekday, opens, closes in hours:
        if weekday is not None and not 0 <= weekday <= 6:
            raise Invalid("error.plan_weekday", field="weekday")
        for name, moment in (("opens", opens), ("closes", closes)):
            if moment.tzinfo is not None:  # times of day are the policy's local time
                raise Invalid("error.local_time_of_day", field=name)
        if opens >= closes:
            raise Invalid("error.hours_order", field="closes")
    db.execute(delete(RoomHours).where(RoomHours.room_id == room.id))
    rows = [RoomHours(room_id=room.id, weekday=w, opens=o, closes=c) for w, o, c in hours]
    db.add_all(rows)
    db.flush()
    audit.record(db=db, action="room.hours_set", entity_type="room", entity_id=room.id, actor_id=actor_id,
                 data={"hours": [[w, o.isoformat(), c.isoformat()] for w, o, c in hours]})
    return rows


def add_closure(*, db: Session, room: Room, starts_at: datetime, ends_at: datetime, reason: str = "",
                actor_id: int | None = None) -> RoomClosure:
    """Close a room for a period."""
    if starts_at >= ends_at:
        raise Invalid("error.closure_order", field="end")
    closure = RoomClosure(room_id=room.id, starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip()[:200])
    db.add(closure)
    db.flush()
    audit.record(db=db, action="room.closed", entity_type="room", entity_id=room.id, actor_id=actor_id,
                 data={"start": starts_at.isoformat(), "end": ends_at.isoformat(), "reason": closure.reason})
    return closure


def open_intervals(*, db: Session, room_ids: list[int], calendar: WorkCalendar, policy: Policy,
                   first: date, last: date) -> dict[int, list[Interval]]:
    """For each room, the UTC intervals it is open between local days FIRST and LAST."""
    hours: dict[int, list[tuple[int | None, time, time]]] = defaultdict(list)
    for row in db.scalars(select(RoomHours).where(RoomHours.room_id.in_(room_ids))):
        hours[row.room_id].append((row.weekday, row.opens, row.closes))
    lo, hi = local_moment(policy, first, time(0)), local_moment(policy, last + timedelta(days=1), time(0))
    closed: dict[int, list[Interval]] = defaultdict(list)
    for closure in db.scalars(select(RoomClosure).where(RoomClosure.room_id.in_(room_ids),
                                                             RoomClosure.ends_at > lo, RoomClosure.starts_at < hi)):
        closed[closure.room_id].append((closure.starts_at, closure.ends_at))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    workdays = [d for d in days if calendar.is_workday(d)]
    out = {}
    for room_id in room_ids:
        spans = [(local_moment(policy, d, o), local_moment(policy, d, c))
                 for d in workdays for w, o, c in hours.get(room_id) or DEFAULT_HOURS
                 if w is None or w == d.weekday()]
        out[room_id] = subtract(normalise(spans), closed.get(room_id, []))
    return out
