"""Free slots: the leader's plan ∩ the room's hours − claims (bookings and their buffers) − absences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduling import claims
from scheduling.intervals import covers
from scheduling.lookup import load_leader, load_room
from scheduling.plans import occurrences, plans_of_leader
from scheduling.policy import Policy, aware, cutoff_for, local_day, quanta
from scheduling.rooms import open_intervals
from vreception.clock import now as clock_now
from vreception.errors import Invalid
from vreception.workdays import load_calendar

MAX_RANGE = timedelta(days=62)


@dataclass(frozen=True)
class Slot:
    """A bookable slot of a leader's plan."""

    start: datetime
    end: datetime
    leader_id: int
    plan_id: int


def free_slots(*, db: Session, policy: Policy, leader_id: int, room_id: int | None = None,
               first: datetime, last: datetime, now: datetime | None = None) -> list[Slot]:
    """The leader's bookable slots between FIRST and LAST, in ROOM_ID if given."""
    now = now or clock_now()
    first, last = aware(first, "from"), aware(last, "to")
    if last <= first:
        raise Invalid("error.end_before_start", field="to")
    if last - first > MAX_RANGE:
        raise Invalid("error.range_too_long", field="to", days=MAX_RANGE.days)
    load_leader(leader_id, db=db)
    if room_id is not None:
        load_room(room_id, db=db)
    calendar = load_calendar(db=db)
    occs = occurrences(db=db, plans=plans_of_leader(leader_id, db=db), calendar=calendar, policy=policy,
                       first=local_day(policy, first), last=local_day(policy, last), leader_id=leader_id)
    if not occs:
        return []
    asked = [room_id] if room_id is not None else []
    room_ids = list(dict.fromkeys(asked + [pr.room_id for o in occs for pr in o.plan.rooms]))
    hours = open_intervals(db=db, room_ids=room_ids, calendar=calendar, policy=policy,
                           first=local_day(policy, first), last=local_day(policy, last)) if room_ids else {}
    longest_buffer = timedelta(minutes=max(o.plan.buffer_minutes for o in occs))
    leader = claims.leader_key(leader_id)
    taken = claims.busy(db=db, keys=[leader] + [claims.room_key(r) for r in room_ids], first=first,
                        last=last + longest_buffer)
    found: dict[tuple[datetime, datetime], Slot] = {}
    for occ in occs:
        length, buffer = timedelta(minutes=occ.plan.slot_minutes), timedelta(minutes=occ.plan.buffer_minutes)
        rooms_here = asked + [pr.room_id for pr in occ.plan.rooms]
        start = occ.starts_at
        while start + length <= occ.ends_at:
            end = start + length
            if (first <= start and end <= last and start >= now and now <= cutoff_for(policy, start)
                    and all(covers(hours[r], start, end) for r in rooms_here)
                    and not any(q in taken[leader] for q in quanta(policy, start, end + buffer))
                    and not any(q in taken[claims.room_key(r)] for r in rooms_here for q in quanta(policy, start, end))):
                found.setdefault((start, end), Slot(start, end, leader_id, occ.plan.id))
            start = end + buffer
    return [found[k] for k in sorted(found)]
