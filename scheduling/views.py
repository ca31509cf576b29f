"""Typed read models of reception plans, free slots and sessions, shared by the API and the pages."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scheduling import home_join
from scheduling.access import visible
from scheduling.policy import Policy
from vreception.auth.access import Principal
from vreception.cases.queries import recording_summary, recordings_by_session
from vreception.cases.views import RecordingSummary
from vreception.models import Matter, Person
from vreception.models.recordings import Recording
from vreception.models.scheduling import (
    Participant,
    PlanLeader,
    ReceptionPlan,
    ReceptionSession,
    SessionEvent,
    SessionState,
)
from vreception.paging import Key, Page, fetch, keyset_fetch


class PlanOut(BaseModel):
    id: int
    node_id: int
    kind: str
    leader_ids: list[int]
    day_of_month: int | None
    weekday: int | None
    dates: list[date]
    starts: time
    ends: time
    slot_minutes: int
    buffer_minutes: int
    room_ids: list[int]
    scope: str
    valid_from: date
    valid_until: date | None
    active: bool


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    leader_id: int
    plan_id: int


class ParticipantOut(BaseModel):
    id: int
    role: str
    person_id: int | None
    room_id: int | None
    name: str
    join_mode: str = "default"  # home | home_verified: joining from their own phone (scheduling.home_join)


class EventOut(BaseModel):
    action: str
    at: datetime
    actor_id: int | None
    start: datetime | None
    end: datetime | None
    reason: str


class SessionOut(BaseModel):
    id: int
    kind: str
    state: str
    leader_id: int
    matter_id: int | None
    plan_id: int | None
    start: datetime
    end: datetime
    ad_hoc: bool
    invited: bool
    reason: str
    override_reason: str
    version: int
    participants: list[ParticipantOut]
    history: list[EventOut] = Field(default_factory=list)
    recorded: bool = True
    recordings: list[RecordingSummary] = Field(default_factory=list)


def local(policy: Policy, moment: datetime | None) -> datetime | None:
    """An instant in the display time zone."""
    return moment.astimezone(policy.zone) if moment else None


def plan_out(plan: ReceptionPlan) -> PlanOut:
    """A published plan as the API shows it."""
    return PlanOut(id=plan.id, node_id=plan.node_id, kind=plan.kind.value, leader_ids=[pl.leader_id for pl in plan.leaders],
                   day_of_month=plan.day_of_month, weekday=plan.weekday, dates=[d.day for d in plan.dates],
                   starts=plan.starts, ends=plan.ends, slot_minutes=plan.slot_minutes,
                   buffer_minutes=plan.buffer_minutes, room_ids=[r.room_id for r in plan.rooms], scope=plan.scope,
                   valid_from=plan.valid_from, valid_until=plan.valid_until, active=plan.active)


def history_of(session_id: int, *, db: Session) -> list[SessionEvent]:
    """A session's history: booked, moved, cancelled, opened, live, ended …, oldest first."""
    return list(db.scalars(select(SessionEvent).where(SessionEvent.session_id == session_id).order_by(SessionEvent.id)))


def people_of(item: ReceptionSession, *, db: Session) -> dict[str, Person | Matter | None]:
    """The session's leader and matter (for its page)."""
    return {"leader": db.get(Person, item.leader_id),
            "matter": db.get(Matter, item.matter_id) if item.matter_id else None}


def session_out(policy: Policy, item: ReceptionSession, history: bool = False, recordings: list[Recording] | None = None,
                *, db: Session, modes: dict[int, str] | None = None) -> SessionOut:
    """A session with its participants, recordings and (on request) its history, in local time."""
    events = []
    if history:
        rows = history_of(item.id, db=db)
        events = [EventOut(action=e.action, at=local(policy, e.at), actor_id=e.actor_id, start=local(policy, e.starts_at),
                           end=local(policy, e.ends_at), reason=e.reason) for e in rows]
    modes = home_join.join_modes([item.id], db=db) if modes is None else modes
    return SessionOut(
        id=item.id, kind=item.kind.value, state=item.state.value, leader_id=item.leader_id, matter_id=item.matter_id,
        plan_id=item.plan_id, start=local(policy, item.starts_at), end=local(policy, item.ends_at),
        ad_hoc=item.ad_hoc, invited=item.invited, reason=item.reason, override_reason=item.override_reason,
        version=item.version, history=events, recorded=item.recorded,
        recordings=[recording_summary(r) for r in (recordings_by_session([item.id], db=db).get(item.id, [])
                                                   if recordings is None else recordings)],
        participants=[ParticipantOut(id=p.id, role=p.role, person_id=p.person_id, room_id=p.room_id, name=p.name,
                                     join_mode=modes.get(p.id, "default")) for p in item.participants])




def list_plans(*, db: Session, leader_id: int | None = None, node_id: int | None = None, limit: int | None = None,
               cursor: str | None = None) -> Page[PlanOut]:
    """The active published plans, of a leader or an office or all, by id; a page at a time (counted in SQL)."""
    query = select(ReceptionPlan).where(ReceptionPlan.active.is_(True))
    if leader_id is not None:
        query = query.where(ReceptionPlan.id.in_(select(PlanLeader.plan_id).where(PlanLeader.leader_id == leader_id)))
    if node_id is not None:
        query = query.where(ReceptionPlan.node_id == node_id)
    query = query.order_by(ReceptionPlan.id).options(
        selectinload(ReceptionPlan.leaders), selectinload(ReceptionPlan.rooms), selectinload(ReceptionPlan.dates))
    rows, total, following = fetch(query, db=db, limit=limit, cursor=cursor)
    return Page[PlanOut](items=[plan_out(plan) for plan in rows], total=total, next=following)


SESSION_KEYS: list[Key] = [(ReceptionSession.starts_at, False), (ReceptionSession.id, False)]


def list_sessions(*, db: Session, principal: Principal, policy: Policy, first: datetime | None = None,
                  last: datetime | None = None, leader_id: int | None = None, room_id: int | None = None,
                  state: SessionState | None = None, limit: int | None = None,
                  cursor: str | None = None) -> Page[SessionOut]:
    """The sessions the principal may see, by start, filtered in SQL; keyset pages (the start and id of the last row)
    in a fixed number of queries, the total counted up to paging.COUNT_CAP along the start-time index."""
    query = select(ReceptionSession).where(visible(principal))
    if first is not None:
        query = query.where(ReceptionSession.ends_at > first)
    if last is not None:
        query = query.where(ReceptionSession.starts_at < last)
    if leader_id is not None:
        query = query.where(ReceptionSession.leader_id == leader_id)
    if room_id is not None:
        query = query.where(ReceptionSession.id.in_(select(Participant.session_id).where(Participant.room_id == room_id)))
    if state is not None:
        query = query.where(ReceptionSession.state == state)
    rows, total, capped, following = keyset_fetch(
        query.options(selectinload(ReceptionSession.participants)), db=db, keys=SESSION_KEYS, tag="s",
        row_keys=lambda r: [r.starts_at, r.id], limit=limit, cursor=cursor)
    recordings = recordings_by_session([r.id for r in rows], db=db)
    modes = home_join.join_modes([r.id for r in rows], db=db)  # participant ids are unique across sessions
    return Page[SessionOut](items=[session_out(policy, r, db=db, recordings=recordings.get(r.id, []), modes=modes)
                                   for r in rows], total=total, total_capped=capped, next=following)
