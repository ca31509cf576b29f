"""Booking, rescheduling and cancelling sessions; every resource is claimed in the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, joinedload, lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from scheduling import claims, rules, session_state
from scheduling.errors import IllegalSessionChange, LeaderAway, OutsidePlan, RoomClosed
from scheduling.intervals import covers
from scheduling.lookup import load_leader, load_person, load_room
from scheduling.plans import Occurrence, plan_days, plans_of_leader
from scheduling.policy import (
    Policy,
    aware,
    floor_to_quantum,
    local_day,
    local_moment,
    on_quantum,
)
from scheduling.rooms import open_intervals
from signaling.roles import NAMED_ROLES
from vreception import audit
from vreception.clock import now as clock_now
from vreception.errors import Invalid, NotFound
from vreception.i18n import Msg
from vreception.models.cases import Matter
from vreception.models.org import Room
from vreception.models.people import Person
from vreception.models.scheduling import (
    LeaderAbsence,
    Participant,
    ReceptionSession,
    SessionEvent,
    SessionKind,
    SessionState,
)
from vreception.sms import hooks as sms_hooks
from vreception.workdays import WorkCalendar, load_calendar

PARTICIPANT_ROLES = NAMED_ROLES
AD_HOC_LENGTH = timedelta(minutes=30)
MAX_PARTICIPANTS = 30
MAX_ROOMS = 10


@dataclass(frozen=True)
class ParticipantSpec:
    """A participant as the booking names it: a role and a person, or just a name."""

    role: str
    person_id: int | None = None
    name: str | None = None


def load_session(session_id: int, *, db: Session) -> ReceptionSession:
    """A session by id, or NotFound."""
    booking = db.get(ReceptionSession, session_id)
    if booking is None:
        raise NotFound("error.session_not_found", field="session_id", id=session_id)
    return booking


def _times(policy: Policy, starts_at: datetime | None, ends_at: datetime | None) -> tuple[datetime, datetime]:
    if starts_at is None or ends_at is None:
        raise Invalid("error.times_required", field="start" if starts_at is None else "end")
    start, end = aware(starts_at, "start"), aware(ends_at, "end")
    if end <= start:
        raise Invalid("error.end_before_start", field="end")
    if end - start > policy.max_session:
        raise Invalid("error.session_too_long", field="end", max=int(policy.max_session.total_seconds() // 60))
    q = int(policy.quantum.total_seconds() // 60)
    if not on_quantum(policy, start):
        raise Invalid("error.time_off_quantum", field="start", quantum=q)
    if not on_quantum(policy, end):
        raise Invalid("error.time_off_quantum", field="end", quantum=q)
    return start, end


def _occurrence(*, db: Session, policy: Policy, calendar: WorkCalendar, leader_id: int, start: datetime,
                end: datetime) -> Occurrence | None:
    """The leader's reception window holding [START, END), on a day the caller found the leader present.

    The same windows `plans.occurrences` gives for that day and leader, without asking the database
    again for the leader's absence on it (the caller has just checked it).
    """
    day = local_day(policy, start)
    found = [Occurrence(plan, leader, d, local_moment(policy, d, plan.starts), local_moment(policy, d, plan.ends))
             for plan in plans_of_leader(leader_id, db=db)
             for d, leader in plan_days(plan, calendar, day, day) if leader == leader_id]
    for occ in sorted(found, key=lambda o: (o.starts_at, o.plan.id)):
        if occ.starts_at <= start and end <= occ.ends_at:
            return occ
    return None


# The matter with its demands in one statement: the legal-channel and scope rules read every demand's category.
_MATTER = select(Matter).where(Matter.id == bindparam("matter_id")).options(
    joinedload(Matter.demands), lazyload(Matter.petitioner_links), lazyload(Matter.deadlines))


def _load_matter(matter_id: int, *, db: Session) -> Matter:
    matter = db.scalars(_MATTER, {"matter_id": matter_id}).unique().first()
    if matter is None:
        raise NotFound("error.matter_not_found", field="matter_id", id=matter_id)
    return matter


_ABSENCES = LeaderAbsence.__table__
_AWAY = select(_ABSENCES.c.id).where(_ABSENCES.c.leader_id == bindparam("leader_id"),
                                     _ABSENCES.c.day == bindparam("day")).limit(1)


def _check_time(*, db: Session, policy: Policy, leader: Person, rooms: list[Room], start: datetime,
                end: datetime, ad_hoc: bool, invited: bool, now: datetime) -> Occurrence | None:
    """The time rules: cut-off, the leader's absence and plan, the rooms' hours; the matching occurrence."""
    if ad_hoc:
        return None
    rules.check_cutoff(policy=policy, starts_at=start, now=now)
    day = local_day(policy, start)
    if db.execute(_AWAY, {"leader_id": leader.id, "day": day}).first() is not None:
        raise LeaderAway("error.leader_away", field="start", leader=leader.name, day=day.isoformat())
    calendar = load_calendar(db=db)
    occ = _occurrence(db=db, policy=policy, calendar=calendar, leader_id=leader.id, start=start, end=end)
    if occ is None and not invited:
        raise OutsidePlan("error.outside_plan", field="start", leader=leader.name)
    room_ids = [r.id for r in rooms] + ([pr.room_id for pr in occ.plan.rooms] if occ else [])
    hours = open_intervals(db=db, room_ids=list(dict.fromkeys(room_ids)), calendar=calendar, policy=policy,
                           first=day, last=local_day(policy, end))
    for room in rooms:
        if not covers(hours[room.id], start, end):
            raise RoomClosed("error.room_closed", field="room_ids", room=room.name)
    return occ


def _participants(leader: Person, rooms: list[Room], specs: Sequence[ParticipantSpec], kind: SessionKind = SessionKind.reception,
                  *, db: Session) -> list[dict[str, Any]]:
    """The participant rows: the leader (a hearing's chair), every room, then the named people and names."""
    seat = "chair" if kind is SessionKind.hearing else "leader"
    out: list[dict[str, Any]] = [{"role": seat, "person_id": leader.id, "room_id": None, "name": leader.name,
            "node_path": leader.node.path}]
    out += [{"role": "room", "person_id": None, "room_id": r.id, "name": r.name, "node_path": r.node.path}
            for r in rooms]
    seen = {leader.id}
    for i, spec in enumerate(specs):
        if spec.role not in PARTICIPANT_ROLES:
            raise Invalid("error.participant_role", field=f"participants.{i}.role", role=spec.role)
        if spec.person_id is not None:
            person = load_person(spec.person_id, f"participants.{i}.person_id", db=db)
            if person.id in seen:
                raise Invalid("error.participant_twice", field=f"participants.{i}.person_id", name=person.name)
            seen.add(person.id)
            out.append({"role": spec.role, "person_id": person.id, "room_id": None,
                        "name": (spec.name or person.name)[:100], "node_path": person.node.path})
        else:
            name = (spec.name or "").strip()
            if not name:
                raise Invalid("error.participant_name", field=f"participants.{i}.name")
            out.append({"role": spec.role, "person_id": None, "room_id": None, "name": name[:100], "node_path": ""})
    return out


# Declarative types __table__ as a FromClause; these classes map plain Tables.
_SESSIONS, _PARTICIPANTS = cast(Table, ReceptionSession.__table__), cast(Table, Participant.__table__)
_INSERT_SESSION = insert(_SESSIONS).returning(_SESSIONS.c.id)
_INSERT_PARTICIPANTS = insert(_PARTICIPANTS).returning(_PARTICIPANTS.c.id, sort_by_parameter_order=True)


def _write(row: dict[str, Any], participant_rows: list[dict[str, Any]], *, db: Session) -> ReceptionSession:
    """Insert the session and its participants (two statements), and hand them back as persistent objects.

    Core INSERT … RETURNING instead of the unit of work: the rows are complete (every column given),
    so the objects built from them are exactly what a flush and a reload would give.
    """
    db.flush()  # anything the caller left pending goes first, as the unit of work would order it
    session_id = db.execute(_INSERT_SESSION, row).scalar_one()
    for p in participant_rows:
        p["session_id"] = session_id
    ids = db.execute(_INSERT_PARTICIPANTS, participant_rows).scalars().all()
    booking = ReceptionSession(id=session_id, **row)
    people = [Participant(id=i, **p) for i, p in zip(ids, participant_rows, strict=True)]
    for obj in (booking, *people):
        make_transient_to_detached(obj)
        db.add(obj)
    set_committed_value(booking, "participants", people)
    for person in people:
        set_committed_value(person, "session", booking)
    return booking


_INSERT_EVENT = insert(cast(Table, SessionEvent.__table__))


def _event(booking: ReceptionSession, action: str, actor_id: int | None, reason: str = "", *, db: Session) -> None:
    # A Core INSERT (no unit of work): nothing reads the event back as an object here.
    db.execute(_INSERT_EVENT, {
        "session_id": booking.id, "at": clock_now(), "actor_id": actor_id, "action": action,
        "starts_at": booking.starts_at, "ends_at": booking.ends_at, "reason": reason})


def _walk_in_start(policy: Policy, starts_at: datetime | None, now: datetime) -> datetime:
    """A walk-in (现场接访) starts now (the current quantum) or at a later time the same local day."""
    current = floor_to_quantum(policy, now)
    if starts_at is None:
        return current
    start = aware(starts_at, "start")
    if start < current:
        raise Invalid("error.start_in_past", field="start")
    if local_day(policy, start) != local_day(policy, now):
        raise Invalid("error.walk_in_today", field="start")
    return start


def _overridable(check: Callable[[], None], override_reason: str, overridden: list[str]) -> None:
    """Run CHECK; with a coordinator's recorded reason its refusal is lifted and the rule noted as overridden."""
    try:
        check()
    except Invalid as error:
        if not override_reason:
            raise
        overridden.append(error.code)


def book(
    *,
    db: Session,
    policy: Policy,
    kind: str,
    leader_id: int,
    room_ids: list[int],
    matter_id: int | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    participants: Sequence[ParticipantSpec] = (),
    ad_hoc: bool = False,
    invited: bool = False,
    reason: str = "",
    override_reason: str = "",
    coordinator: bool = False,
    actor_id: int | None = None,
    now: datetime | None = None,
    recorded: bool = True,
) -> ReceptionSession:
    """Book a session after every rule, claiming its leader, rooms and named people (409 on any overlap)."""
    now = now or clock_now()
    try:
        session_kind = SessionKind(kind)
    except ValueError:
        raise Invalid("error.session_kind", field="kind", kind=kind) from None
    if not recorded and (session_kind is not SessionKind.hearing or not (reason or "").strip()):
        # Only a hearing on state secrets may go unrecorded, and the booking must say why.
        raise Invalid("error.unrecorded_needs_hearing_reason", field="record")
    reason, override_reason = (reason or "").strip(), (override_reason or "").strip()
    if (ad_hoc or invited or override_reason) and not coordinator:
        raise Invalid("error.coordinator_only", field="ad_hoc" if ad_hoc else "invited" if invited else "override_reason")
    if ad_hoc:
        if not reason:
            raise Invalid("error.ad_hoc_reason", field="reason")
        start = _walk_in_start(policy, starts_at, now)
        end = start + AD_HOC_LENGTH if ends_at is None else aware(ends_at, "end")
        start, end = _times(policy, start, end)
    else:
        start, end = _times(policy, starts_at, ends_at)
        if start < now:
            raise Invalid("error.start_in_past", field="start")
    if len(room_ids) > MAX_ROOMS or len(set(room_ids)) != len(room_ids):
        raise Invalid("error.rooms_invalid", field="room_ids", max=MAX_ROOMS)
    if session_kind is SessionKind.reception and not room_ids:
        raise Invalid("error.room_required_for_reception", field="room_ids")
    if len(participants) > MAX_PARTICIPANTS:
        raise Invalid("error.too_many_participants", field="participants", max=MAX_PARTICIPANTS)
    leader = load_leader(leader_id, db=db)
    rooms = [load_room(r, "room_ids", db=db) for r in room_ids]
    matter = None
    if matter_id is not None:
        matter = _load_matter(matter_id, db=db)
    elif session_kind is not SessionKind.consultation:
        raise Invalid("error.matter_required", field="matter_id")
    rules.check_representatives([p.role for p in participants])
    overridden: list[str] = []
    if session_kind is SessionKind.reception and matter is not None:
        # Leader slots (领导接访) are refused for matters being handled, concluded or past review.
        rules.check_matter_bookable(matter=matter, now=now, policy=policy)
        reception_matter = matter
        _overridable(lambda: rules.check_legal_channel(matter=reception_matter), override_reason, overridden)
        _overridable(lambda: rules.check_level(db=db, matter=reception_matter, leader=leader), override_reason,
                     overridden)
    occ = _check_time(db=db, policy=policy, leader=leader, rooms=rooms, start=start, end=end, ad_hoc=ad_hoc,
                      invited=invited, now=now)
    if session_kind is SessionKind.reception and matter is not None:
        # The scope published with the plan the slot falls in; off-plan, every plan the leader sits in.
        scopes = [occ.plan.scope] if occ else [p.scope for p in plans_of_leader(leader.id, db=db)]
        scoped_matter = matter
        _overridable(lambda: rules.check_scope(matter=scoped_matter, leader=leader, scopes=scopes), override_reason,
                     overridden)
    if occ is not None:
        # The leader sits in the plan's room(s): the booking holds them too.
        rooms += [load_room(pr.room_id, db=db) for pr in occ.plan.rooms if pr.room_id not in room_ids]
    row = dict(
        kind=session_kind, state=SessionState.booked, leader_id=leader.id, matter_id=matter.id if matter else None,
        plan_id=occ.plan.id if occ else None, node_path=leader.node.path, starts_at=start, ends_at=end,
        buffer_minutes=occ.plan.buffer_minutes if occ else 0, ad_hoc=ad_hoc, invited=invited, reason=reason,
        override_reason=override_reason, booked_by=actor_id, booked_at=now, version=0, recorded=recorded,
    )
    booking = _write(row, _participants(leader, rooms, list(participants), session_kind, db=db), db=db)
    claims.claim(db=db, booking=booking, policy=policy)
    _event(booking, "booked", actor_id, reason or override_reason, db=db)
    audit.record(db=db, action="session.booked", entity_type="session", entity_id=booking.id, actor_id=actor_id,
                 data={"kind": session_kind.value, "leader_id": leader.id, "rooms": [r.id for r in rooms],
                       "matter_id": booking.matter_id, "start": start.isoformat(), "end": end.isoformat(),
                       "ad_hoc": ad_hoc, "invited": invited, "reason": reason, "override_reason": override_reason,
                       "overridden": overridden, "recorded": recorded})
    sms_hooks.session_changed(db=db, booking=booking, change="booked", actor_id=actor_id)
    return booking


def reschedule(*, db: Session, policy: Policy, booking: ReceptionSession, starts_at: datetime | None,
               ends_at: datetime | None, reason: str = "", actor_id: int | None = None,
               now: datetime | None = None) -> ReceptionSession:
    """Move a booked session to a new time: the old claims are freed, the new ones claimed (409 on overlap)."""
    now = now or clock_now()
    if booking.state is not SessionState.booked or booking.ad_hoc:
        raise IllegalSessionChange("error.session_not_movable", field="session_id", state=Msg(f"session.state.{booking.state.value}"))
    start, end = _times(policy, starts_at, ends_at)
    if start < now:
        raise Invalid("error.start_in_past", field="start")
    leader = load_leader(booking.leader_id, db=db)
    rooms = [load_room(p.room_id, db=db) for p in booking.participants if p.room_id is not None]
    occ = _check_time(db=db, policy=policy, leader=leader, rooms=rooms, start=start, end=end, ad_hoc=False,
                      invited=booking.invited, now=now)
    old = (booking.starts_at, booking.ends_at)
    claims.release(db=db, booking=booking)
    booking.starts_at, booking.ends_at = start, end
    booking.plan_id = occ.plan.id if occ else None
    booking.buffer_minutes = occ.plan.buffer_minutes if occ else 0
    booking.version += 1
    db.flush()
    claims.claim(db=db, booking=booking, policy=policy)
    _event(booking, "rescheduled", actor_id, reason, db=db)
    audit.record(db=db, action="session.rescheduled", entity_type="session", entity_id=booking.id,
                 actor_id=actor_id, data={"from": [t.isoformat() for t in old],
                                          "to": [start.isoformat(), end.isoformat()], "reason": reason})
    sms_hooks.session_changed(db=db, booking=booking, change="rescheduled", actor_id=actor_id)
    return booking


def cancel(*, db: Session, booking: ReceptionSession, reason: str = "",
           actor_id: int | None = None) -> ReceptionSession:
    """Cancel a booked session and free its claims; its history stays."""
    if booking.state is not SessionState.booked:
        raise IllegalSessionChange("error.session_not_cancellable", field="session_id", state=Msg(f"session.state.{booking.state.value}"))
    reason = (reason or "").strip()
    session_state.change_state(db=db, booking=booking, to=SessionState.cancelled, at=clock_now(),
                               actor_id=actor_id, reason=reason, data={"reason": reason})
    sms_hooks.session_changed(db=db, booking=booking, change="cancelled", actor_id=actor_id)
    return booking
