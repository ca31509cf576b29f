"""Scheduling endpoints: plans, room hours, availability, sessions (book, cancel, reschedule, join), calendars."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from recordings.service import recordings_of
from scheduling import availability, booking, ics, plans, rooms
from scheduling.access import can_manage, can_see, room_ids_of, visible
from scheduling.join import issue_join_token
from scheduling.lookup import load_leader, load_matter, load_room
from scheduling.policy import Policy, aware, policy_from
from vreception.auth.access import covers, require, require_role
from vreception.errors import Forbidden, NotFound
from vreception.models.org import Node
from vreception.models.people import Role
from vreception.models.scheduling import ReceptionPlan, ReceptionSession, SessionEvent, SessionState
from web.deps import ApiPrincipal, DbSession, Language, api_principal

router = APIRouter(tags=["scheduling"])

COORDINATORS = (Role.coordinator,)
STAFF = (Role.coordinator, Role.leader)


def _policy(request: Request) -> Policy:
    return policy_from(request.app.state.settings)


PolicyDep = Annotated[Policy, Depends(_policy)]


# ---- shapes -------------------------------------------------------------------------------------

class PlanIn(BaseModel):
    kind: Literal["monthly_day", "weekly", "rotation", "dates"]
    leader_ids: list[int] = Field(min_length=1, max_length=50)
    node_id: int | None = None
    day_of_month: int | None = None
    weekday: int | None = Field(default=None, description="0 = Monday")
    half: Literal["morning", "afternoon"] | None = None
    dates: list[date] | None = Field(default=None, max_length=366)
    starts: time | None = Field(default=None, description="local time (Asia/Shanghai)")
    ends: time | None = None
    slot_minutes: int = 30
    buffer_minutes: int = 0
    room_ids: list[int] = Field(default_factory=list, max_length=10)
    scope: str = Field(default="", max_length=2000)
    valid_from: date
    valid_until: date | None = None


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


class AbsenceIn(BaseModel):
    day: date
    reason: str = Field(default="", max_length=200)


class HoursIn(BaseModel):
    weekday: int | None = Field(default=None, description="None: every working day")
    opens: time
    closes: time


class ClosureIn(BaseModel):
    start: datetime
    end: datetime
    reason: str = Field(default="", max_length=200)


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    leader_id: int
    plan_id: int


class ParticipantIn(BaseModel):
    role: str = Field(max_length=32)
    person_id: int | None = None
    name: str | None = Field(default=None, max_length=100)


class SessionIn(BaseModel):
    kind: Literal["reception", "hearing", "consultation"]
    leader_id: int
    room_ids: list[int] = Field(default_factory=list, max_length=10)
    matter_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=30)
    ad_hoc: bool = Field(default=False, description="walk-in session starting now (现场接访), coordinators only")
    invited: bool = Field(default=False, description="invited session (约访) outside the plan, coordinators only")
    reason: str = Field(default="", max_length=1000)
    override_reason: str = Field(default="", max_length=1000, description="why a level skip is allowed")
    record: bool = Field(default=True, description="false only for a hearing on state secrets, with a reason")


class TimesIn(BaseModel):
    start: datetime
    end: datetime
    reason: str = Field(default="", max_length=1000)


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


class JoinIn(BaseModel):
    participant_id: int


class JoinOut(BaseModel):
    token: str
    ws_url: str
    expires_at: datetime


class ParticipantOut(BaseModel):
    id: int
    role: str
    person_id: int | None
    room_id: int | None
    name: str


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
    recordings: list[dict] = Field(default_factory=list)


class FeedOut(BaseModel):
    url: str
    expires_at: datetime


def recording_summary(recording) -> dict:
    """A recording as lists show it."""
    return {"id": recording.id, "state": recording.state.value, "duration_s": recording.duration_s,
            "bytes": recording.bytes, "sha256": recording.sha256, "url": f"/api/v1/recordings/{recording.id}"}


def _local(policy: Policy, moment: datetime | None) -> datetime | None:
    return moment.astimezone(policy.zone) if moment else None


def plan_out(plan: ReceptionPlan) -> PlanOut:
    return PlanOut(id=plan.id, node_id=plan.node_id, kind=plan.kind.value, leader_ids=[pl.leader_id for pl in plan.leaders],
                   day_of_month=plan.day_of_month, weekday=plan.weekday, dates=[d.day for d in plan.dates],
                   starts=plan.starts, ends=plan.ends, slot_minutes=plan.slot_minutes,
                   buffer_minutes=plan.buffer_minutes, room_ids=[r.room_id for r in plan.rooms], scope=plan.scope,
                   valid_from=plan.valid_from, valid_until=plan.valid_until, active=plan.active)


def session_out(session, policy: Policy, item: ReceptionSession, history: bool = False) -> SessionOut:
    events = []
    if history:
        rows = session.scalars(select(SessionEvent).where(SessionEvent.session_id == item.id).order_by(SessionEvent.id))
        events = [EventOut(action=e.action, at=_local(policy, e.at), actor_id=e.actor_id, start=_local(policy, e.starts_at),
                           end=_local(policy, e.ends_at), reason=e.reason) for e in rows]
    return SessionOut(
        id=item.id, kind=item.kind.value, state=item.state.value, leader_id=item.leader_id, matter_id=item.matter_id,
        plan_id=item.plan_id, start=_local(policy, item.starts_at), end=_local(policy, item.ends_at),
        ad_hoc=item.ad_hoc, invited=item.invited, reason=item.reason, override_reason=item.override_reason,
        version=item.version, history=events, recorded=item.recorded,
        recordings=[recording_summary(r) for r in recordings_of(session=session, session_id=item.id)],
        participants=[ParticipantOut(id=p.id, role=p.role, person_id=p.person_id, room_id=p.room_id, name=p.name)
                      for p in item.participants])


def _node(session, node_id: int) -> Node:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    return node


# ---- plans, absences, room hours ----------------------------------------------------------------

@router.post("/plans", response_model=PlanOut, status_code=201)
def create_plan(body: PlanIn, principal: ApiPrincipal, session: DbSession, policy: PolicyDep) -> PlanOut:
    """Publish a leader's reception plan (coordinators over the office and the leaders)."""
    require_role(principal, COORDINATORS)
    for leader_id in body.leader_ids:
        require(principal, load_leader(session, leader_id, "leader_ids").node, COORDINATORS)
    if body.node_id is not None:
        require(principal, _node(session, body.node_id), COORDINATORS)
    plan = plans.create_plan(session, policy=policy, actor_id=principal.person_id, **body.model_dump())
    return plan_out(plan)


@router.get("/plans", response_model=list[PlanOut])
def list_plans(principal: ApiPrincipal, session: DbSession, leader_id: int | None = None,
               node_id: int | None = None) -> list[PlanOut]:
    """Active plans of a leader or an office (published information)."""
    require_role(principal, STAFF)
    if leader_id is not None:
        found = plans.plans_of_leader(session, leader_id)
    elif node_id is not None:
        found = plans.plans_of_node(session, node_id)
    else:
        found = list(session.scalars(select(ReceptionPlan).where(ReceptionPlan.active.is_(True))
                                     .order_by(ReceptionPlan.id).limit(500)))
    return [plan_out(p) for p in found]


@router.post("/plans/{plan_id}/withdraw", response_model=PlanOut)
def withdraw_plan(plan_id: int, principal: ApiPrincipal, session: DbSession) -> PlanOut:
    """Stop publishing a plan."""
    plan = plans.load_plan(session, plan_id)
    require(principal, _node(session, plan.node_id), COORDINATORS)
    return plan_out(plans.withdraw_plan(session, plan=plan, actor_id=principal.person_id))


@router.post("/leaders/{leader_id}/absences", status_code=201)
def add_absence(leader_id: int, body: AbsenceIn, principal: ApiPrincipal, session: DbSession) -> dict:
    """Mark a leader away on a day (the leader, or a coordinator over the leader)."""
    leader = load_leader(session, leader_id)
    if principal.person_id != leader.id:
        require(principal, leader.node, COORDINATORS)
    absence = plans.add_absence(session, leader_id=leader.id, day=body.day, reason=body.reason,
                                actor_id=principal.person_id)
    return {"id": absence.id, "leader_id": leader.id, "day": absence.day.isoformat(), "reason": absence.reason}


@router.put("/rooms/{room_id}/hours")
def set_room_hours(room_id: int, body: list[HoursIn], principal: ApiPrincipal, session: DbSession) -> list[HoursIn]:
    """Replace a room's opening hours (coordinators over the room)."""
    room = load_room(session, room_id)
    require(principal, room.node, COORDINATORS)
    rows = rooms.set_room_hours(session, room=room, hours=[(h.weekday, h.opens, h.closes) for h in body[:50]],
                                actor_id=principal.person_id)
    return [HoursIn(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]


@router.post("/rooms/{room_id}/closures", status_code=201)
def add_closure(room_id: int, body: ClosureIn, principal: ApiPrincipal, session: DbSession) -> dict:
    """Close a room for a period (coordinators over the room)."""
    room = load_room(session, room_id)
    require(principal, room.node, COORDINATORS)
    closure = rooms.add_closure(session, room=room, starts_at=aware(body.start, "start"),
                                ends_at=aware(body.end, "end"), reason=body.reason, actor_id=principal.person_id)
    return {"id": closure.id, "room_id": room.id, "reason": closure.reason}


# ---- availability and sessions -------------------------------------------------------------------

@router.get("/availability", response_model=list[SlotOut])
def get_availability(principal: ApiPrincipal, session: DbSession, policy: PolicyDep, leader_id: int,
                     first: Annotated[datetime, Query(alias="from")], last: Annotated[datetime, Query(alias="to")],
                     room_id: int | None = None) -> list[SlotOut]:
    """Free slots of a leader (in a room): plan ∩ room hours − bookings − buffers − absences."""
    require_role(principal, STAFF)
    slots = availability.free_slots(session, policy=policy, leader_id=leader_id, room_id=room_id, first=first,
                                    last=last)
    return [SlotOut(start=_local(policy, s.start), end=_local(policy, s.end), leader_id=s.leader_id,
                    plan_id=s.plan_id) for s in slots]


def require_booker(session, principal, body: SessionIn) -> None:
    """A coordinator over the leader or one of the rooms, who can also see the matter."""
    require_role(principal, COORDINATORS)
    leader = load_leader(session, body.leader_id)
    places = [leader.node] + [load_room(session, r, "room_ids").node for r in body.room_ids]
    if not any(covers(principal, node, COORDINATORS) for node in places):
        raise Forbidden()
    if body.matter_id is not None:
        matter = load_matter(session, body.matter_id)
        if not any(covers(principal, session.get(Node, n), COORDINATORS)
                   for n in (matter.origin_node_id, matter.handling_node_id)):
            raise Forbidden()


@router.post("/sessions", response_model=SessionOut, status_code=201,
             responses={409: {"description": "conflict"}, 422: {"description": "level_skip, too_many_representatives, "
                        "matter_not_bookable, outside_plan, past_cutoff, room_closed, leader_away or invalid"}})
def book_session(body: SessionIn, principal: ApiPrincipal, session: DbSession, policy: PolicyDep) -> SessionOut:
    """Book a session; every resource it uses is claimed in the database (409 conflict on any overlap)."""
    require_booker(session, principal, body)
    item = booking.book(
        session, policy=policy, kind=body.kind, leader_id=body.leader_id, room_ids=body.room_ids,
        matter_id=body.matter_id, starts_at=body.start, ends_at=body.end,
        participants=[booking.ParticipantSpec(p.role, p.person_id, p.name) for p in body.participants],
        ad_hoc=body.ad_hoc, invited=body.invited, reason=body.reason, override_reason=body.override_reason,
        coordinator=True, actor_id=principal.person_id, recorded=body.record)
    return session_out(session, policy, item, history=True)


@router.get("/sessions", response_model=list[SessionOut])
def list_sessions(principal: ApiPrincipal, session: DbSession, policy: PolicyDep,
                  first: Annotated[datetime | None, Query(alias="from")] = None,
                  last: Annotated[datetime | None, Query(alias="to")] = None,
                  leader_id: int | None = None, room_id: int | None = None,
                  state: Literal["booked", "open", "live", "ended", "no_show", "cancelled"] | None = None,
                  limit: int = Query(default=200, ge=1, le=1000)) -> list[SessionOut]:
    """Sessions the caller may see, by time, leader, room and state."""
    from vreception.models.scheduling import Participant

    query = select(ReceptionSession).where(visible(principal)).order_by(ReceptionSession.starts_at).limit(limit)
    if first is not None:
        query = query.where(ReceptionSession.ends_at > aware(first, "from"))
    if last is not None:
        query = query.where(ReceptionSession.starts_at < aware(last, "to"))
    if leader_id is not None:
        query = query.where(ReceptionSession.leader_id == leader_id)
    if room_id is not None:
        query = query.where(ReceptionSession.id.in_(select(Participant.session_id).where(Participant.room_id == room_id)))
    if state is not None:
        query = query.where(ReceptionSession.state == SessionState(state))
    return [session_out(session, policy, s) for s in session.scalars(query)]


def _visible_session(session, principal, session_id: int) -> ReceptionSession:
    item = booking.load_session(session, session_id)
    if not can_see(principal, item):
        raise Forbidden()
    return item


def _managed_session(session, principal, session_id: int) -> ReceptionSession:
    item = booking.load_session(session, session_id)
    if not can_manage(principal, item):
        raise Forbidden()
    return item


@router.get("/sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: int, principal: ApiPrincipal, session: DbSession, policy: PolicyDep) -> SessionOut:
    """One session with its participants and history."""
    return session_out(session, policy, _visible_session(session, principal, session_id), history=True)


@router.post("/sessions/{session_id}/reschedule", response_model=SessionOut,
             responses={409: {"description": "conflict"}})
def reschedule_session(session_id: int, body: TimesIn, principal: ApiPrincipal, session: DbSession,
                       policy: PolicyDep) -> SessionOut:
    """Move a booked session; its old claims are freed and the new ones claimed."""
    item = _managed_session(session, principal, session_id)
    item = booking.reschedule(session, policy=policy, booking=item, starts_at=body.start, ends_at=body.end,
                              reason=body.reason, actor_id=principal.person_id)
    return session_out(session, policy, item, history=True)


@router.post("/sessions/{session_id}/cancel", response_model=SessionOut)
def cancel_session(session_id: int, principal: ApiPrincipal, session: DbSession, policy: PolicyDep,
                   body: CancelIn | None = None) -> SessionOut:
    """Cancel a booked session and free its claims."""
    item = _managed_session(session, principal, session_id)
    item = booking.cancel(session, booking=item, reason=body.reason if body else "", actor_id=principal.person_id)
    return session_out(session, policy, item, history=True)


@router.post("/sessions/{session_id}/join", response_model=JoinOut)
def join_session(session_id: int, body: JoinIn, request: Request, principal: ApiPrincipal, session: DbSession,
                 policy: PolicyDep) -> JoinOut:
    """A short-lived join token for one participant, and where to use it."""
    item = booking.load_session(session, session_id)
    token, expires, _ = issue_join_token(session, policy=policy, secret=request.app.state.secret, principal=principal,
                                         booking=item, participant_id=body.participant_id)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return JoinOut(token=token, ws_url=f"{scheme}://{request.url.netloc}/ws/sessions/{item.id}?token={token}",
                   expires_at=expires)


# ---- calendar feeds --------------------------------------------------------------------------------
# A calendar client cannot send a bearer header: it reads the URL from GET …/feed (signed, long-lived,
# for that one feed). With a bearer header the .ics URLs work as well.

def _feed_access(request: Request, session, token: str | None, subject: str, allowed) -> None:
    if token:
        ics.check_feed_token(request.app.state.secret, token, subject=subject)
        return
    if not allowed(api_principal(request, session)):
        raise Forbidden()


def _may_read_leader(session, leader_id: int):
    leader = load_leader(session, leader_id)
    return leader, lambda p: p.person_id == leader.id or covers(p, leader.node, COORDINATORS)


def _may_read_room(session, room_id: int):
    room = load_room(session, room_id)
    return room, lambda p: room.id in room_ids_of(p) or covers(p, room.node, COORDINATORS)


def _ics(body: bytes) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/calendars/leaders/{leader_id}.ics", response_class=Response)
def leader_calendar(leader_id: int, request: Request, session: DbSession, policy: PolicyDep, lang: Language,
                    token: str | None = None) -> Response:
    """The leader's sessions and reception days (iCalendar); ?token= from the feed URL, or a bearer token."""
    leader, allowed = _may_read_leader(session, leader_id)
    _feed_access(request, session, token, f"leader:{leader.id}", allowed)
    return _ics(ics.leader_feed(session, policy=policy, leader_id=leader.id, name=leader.name, language=lang))


@router.get("/calendars/rooms/{room_id}.ics", response_class=Response)
def room_calendar(room_id: int, request: Request, session: DbSession, lang: Language,
                  token: str | None = None) -> Response:
    """The room's sessions (iCalendar); ?token= from the feed URL, or a bearer token."""
    room, allowed = _may_read_room(session, room_id)
    _feed_access(request, session, token, f"room:{room.id}", allowed)
    return _ics(ics.room_feed(session, room=room, language=lang))


def _feed_url(request: Request, policy: Policy, path: str, subject: str) -> FeedOut:
    token, expires = ics.feed_token(request.app.state.secret, policy=policy, subject=subject)
    return FeedOut(url=f"{request.base_url}api/v1/calendars/{path}?token={token}", expires_at=expires)


@router.get("/calendars/leaders/{leader_id}/feed", response_model=FeedOut)
def leader_feed_url(leader_id: int, request: Request, principal: ApiPrincipal, session: DbSession,
                    policy: PolicyDep) -> FeedOut:
    """A signed URL a calendar client can subscribe to."""
    leader, allowed = _may_read_leader(session, leader_id)
    if not allowed(principal):
        raise Forbidden()
    return _feed_url(request, policy, f"leaders/{leader.id}.ics", f"leader:{leader.id}")


@router.get("/calendars/rooms/{room_id}/feed", response_model=FeedOut)
def room_feed_url(room_id: int, request: Request, principal: ApiPrincipal, session: DbSession,
                  policy: PolicyDep) -> FeedOut:
    """A signed URL a calendar client can subscribe to."""
    room, allowed = _may_read_room(session, room_id)
    if not allowed(principal):
        raise Forbidden()
    return _feed_url(request, policy, f"rooms/{room.id}.ics", f"room:{room.id}")
