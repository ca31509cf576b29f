"""Free slots: the leader's plan ∩ the room's hours − claims (bookings and their buffers) − absences."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from scheduling import claims
from scheduling.intervals import covers
from scheduling.lookup import load_leader, load_room
from scheduling.plans import occurrences, plans_of_leader
from scheduling.policy import Policy, aware, cutoff_for, floor_to_quantum, local_day
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
    # Claims are quantum starts: a span is held when a claimed quantum lies between its first quantum and its end,
    # one bisection in the sorted claims instead of a set probe per quantum (a four-week query asks 1,000 slots).
    claimed = {key: sorted(slots) for key, slots in taken.items()}
    cutoffs: dict[date, datetime] = {}  # the booking cutoff depends on the slot's local day only
    found: dict[tuple[datetime, datetime], Slot] = {}
    for occ in occs:
        length, buffer = timedelta(minutes=occ.plan.slot_minutes), timedelta(minutes=occ.plan.buffer_minutes)
        rooms_here = list(dict.fromkeys(asked + [pr.room_id for pr in occ.plan.rooms]))
        room_hours = [hours[r] for r in rooms_here]
        room_claims = [claimed[claims.room_key(r)] for r in rooms_here]
        start = occ.starts_at
        while start + length <= occ.ends_at:
            end = start + length
            if first <= start and end <= last and start >= now:
                day = local_day(policy, start)
                cutoff = cutoffs.get(day)
                if cutoff is None:
                    cutoff = cutoffs[day] = cutoff_for(policy, start)
                if (now <= cutoff and all(covers(h, start, end) for h in room_hours)
                        and not _held(claimed[leader], policy, start, end + buffer)
                        and not any(_held(c, policy, start, end) for c in room_claims)):
                    found.setdefault((start, end), Slot(start, end, leader_id, occ.plan.id))
            start = end + buffer
    return [found[k] for k in sorted(found)]


def _held(slots: list[datetime], policy: Policy, start: datetime, end: datetime) -> bool:
    """Whether one of the sorted claimed quanta SLOTS is among those covering [START, END)."""
    if not slots:
        return False
    i = bisect_left(slots, floor_to_quantum(policy, start))
    return i < len(slots) and slots[i] < end
