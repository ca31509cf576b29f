"""Scheduling endpoints: plans, room hours, availability, sessions (book, cancel, reschedule, join), calendars."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from scheduling import access, availability, booking, ics, plans, rooms, views
from scheduling.access import room_ids_of
from scheduling.join import issue_join_token
from scheduling.lookup import load_leader, load_room
from scheduling.policy import Policy, aware
from scheduling.views import PlanOut, SessionOut, SlotOut, local, plan_out, session_out
from vreception import turn
from vreception.auth.access import Principal, covers, load_node, require, require_role
from vreception.errors import Forbidden, Invalid
from vreception.models.people import Role
from vreception.models.scheduling import (
    SessionState,
)
from vreception.paging import Page
from web.deps import ApiPrincipal, DbSession, Language, api_principal
from web.openapi import responses
from web.settings import AppPolicy

router = APIRouter(tags=["scheduling"])

COORDINATORS = (Role.coordinator,)
STAFF = (Role.coordinator, Role.leader)




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
    scope_categories: list[str] = Field(default_factory=list, max_length=50,
                                        description="codes of the demand categories the leader receives")
    valid_from: date
    valid_until: date | None = None


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
    ad_hoc: bool = Field(default=False, description="walk-in session (现场接访) starting now, or at `start` later "
                         "the same day; outside the plan and the cut-off; coordinators only")
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
    participant_id: int | None = Field(default=None, description="your own seat; none: a coordinator over the "
                                       "session gets (or is given) a coordinator's seat")


class IceServerOut(BaseModel):
    urls: list[str] | str
    username: str | None = None
    credential: str | None = None


class JoinOut(BaseModel):
    token: str
    ws_url: str
    expires_at: datetime
    # For RTCPeerConnection: the configured servers and the TURN relay with this participant's own credentials.
    ice_servers: list[IceServerOut] = []


class FeedOut(BaseModel):
    url: str
    expires_at: datetime


# ---- plans, absences, room hours ----------------------------------------------------------------

@router.post("/plans", response_model=PlanOut, status_code=201)
def create_plan(body: PlanIn, principal: ApiPrincipal, db: DbSession, policy: AppPolicy) -> PlanOut:
    """Publish a leader's reception plan (coordinators over the office and the leaders)."""
    require_role(principal, COORDINATORS)
    for leader_id in body.leader_ids:
        require(principal, load_leader(leader_id, "leader_ids", db=db).node, COORDINATORS)
    if body.node_id is not None:
        require(principal, load_node(body.node_id, db=db), COORDINATORS)
    plan = plans.create_plan(db=db, policy=policy, actor_id=principal.person_id, **body.model_dump())
    return plan_out(plan)


@router.get("/plans", response_model=Page[PlanOut], responses=responses(422))
def list_plans(principal: ApiPrincipal, db: DbSession, leader_id: int | None = None, node_id: int | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[PlanOut]:
    """Active plans of a leader or an office, or all (published information); a page at a time
    ({"items", "total", "next"})."""
    require_role(principal, STAFF)
    return views.list_plans(db=db, leader_id=leader_id, node_id=node_id, limit=limit, cursor=cursor)


@router.post("/plans/{plan_id}/withdraw", response_model=PlanOut)
def withdraw_plan(plan_id: int, principal: ApiPrincipal, db: DbSession) -> PlanOut:
    """Stop publishing a plan."""
    plan = plans.load_plan(plan_id, db=db)
    require(principal, load_node(plan.node_id, db=db), COORDINATORS)
    return plan_out(plans.withdraw_plan(db=db, plan=plan, actor_id=principal.person_id))


@router.post("/leaders/{leader_id}/absences", status_code=201)
def add_absence(leader_id: int, body: AbsenceIn, principal: ApiPrincipal, db: DbSession) -> dict:
    """Mark a leader away on a day (the leader, or a coordinator over the leader)."""
    leader = load_leader(leader_id, db=db)
    if principal.person_id != leader.id:
        require(principal, leader.node, COORDINATORS)
    absence = plans.add_absence(db=db, leader_id=leader.id, day=body.day, reason=body.reason,
                                actor_id=principal.person_id)
    return {"id": absence.id, "leader_id": leader.id, "day": absence.day.isoformat(), "reason": absence.reason}


@router.put("/rooms/{room_id}/hours")
def set_room_hours(room_id: int, body: list[HoursIn], principal: ApiPrincipal, db: DbSession) -> list[HoursIn]:
    """Replace a room's opening hours (coordinators over the room)."""
    room = load_room(room_id, db=db)
    require(principal, room.node, COORDINATORS)
    rows = rooms.set_room_hours(db=db, room=room, hours=[(h.weekday, h.opens, h.closes) for h in body[:50]],
                                actor_id=principal.person_id)
    return [HoursIn(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]


@router.post("/rooms/{room_id}/closures", status_code=201)
def add_closure(room_id: int, body: ClosureIn, principal: ApiPrincipal, db: DbSession) -> dict:
    """Close a room for a period (coordinators over the room)."""
    room = load_room(room_id, db=db)
    require(principal, room.node, COORDINATORS)
    closure = rooms.add_closure(db=db, room=room, starts_at=aware(body.start, "start"),
                                ends_at=aware(body.end, "end"), reason=body.reason, actor_id=principal.person_id)
    return {"id": closure.id, "room_id": room.id, "reason": closure.reason}


# ---- availability and sessions -------------------------------------------------------------------

@router.get("/availability", response_model=list[SlotOut])
def get_availability(principal: ApiPrincipal, db: DbSession, policy: AppPolicy, leader_id: int,
                     first: Annotated[datetime, Query(alias="from")], last: Annotated[datetime, Query(alias="to")],
                     room_id: int | None = None) -> list[SlotOut]:
    """Free slots of a leader (in a room): plan ∩ room hours − bookings − buffers − absences."""
    require_role(principal, STAFF)
    slots = availability.free_slots(db=db, policy=policy, leader_id=leader_id, room_id=room_id, first=first,
                                    last=last)
    return [SlotOut(start=local(policy, s.start), end=local(policy, s.end), leader_id=s.leader_id,
                    plan_id=s.plan_id) for s in slots]


@router.post("/sessions", response_model=SessionOut, status_code=201,
             responses={409: {"description": "conflict"}, 422: {"description": "level_skip, too_many_representatives, "
                        "matter_not_bookable, outside_plan, past_cutoff, room_closed, leader_away or invalid "
                        "(hearing_book_through_hearing for a hearing)"}})
def book_session(body: SessionIn, principal: ApiPrincipal, db: DbSession, policy: AppPolicy) -> SessionOut:
    """Book a session; every resource it uses is claimed in the database (409 conflict on any overlap).
    A hearing is booked from its hearing (POST /api/v1/hearings/{id}/booking), which checks the procedure."""
    if body.kind == "hearing":
        raise Invalid("error.hearing_book_through_hearing", field="kind")
    access.require_booker(principal, db=db, leader_id=body.leader_id, room_ids=body.room_ids,
                          matter_id=body.matter_id, override_reason=body.override_reason)
    item = booking.book(
        db=db, policy=policy, kind=body.kind, leader_id=body.leader_id, room_ids=body.room_ids,
        matter_id=body.matter_id, starts_at=body.start, ends_at=body.end,
        participants=[booking.ParticipantSpec(p.role, p.person_id, p.name) for p in body.participants],
        ad_hoc=body.ad_hoc, invited=body.invited, reason=body.reason, override_reason=body.override_reason,
        coordinator=True, actor_id=principal.person_id, recorded=body.record)
    return session_out(policy, item, db=db, history=True)


@router.get("/sessions", response_model=Page[SessionOut], responses=responses(422))
def list_sessions(principal: ApiPrincipal, db: DbSession, policy: AppPolicy,
                  first: Annotated[datetime | None, Query(alias="from")] = None,
                  last: Annotated[datetime | None, Query(alias="to")] = None,
                  leader_id: int | None = None, room_id: int | None = None, state: SessionState | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[SessionOut]:
    """Sessions the caller may see, by time, leader, room and state; a page at a time ({"items", "total", "next"})."""
    return views.list_sessions(db=db, principal=principal, policy=policy,
                               first=aware(first, "from") if first else None, last=aware(last, "to") if last else None,
                               leader_id=leader_id, room_id=room_id, state=state, limit=limit, cursor=cursor)


@router.get("/sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: int, principal: ApiPrincipal, db: DbSession, policy: AppPolicy) -> SessionOut:
    """One session with its participants and history."""
    return session_out(policy, access.load_visible(principal, session_id, db=db), db=db, history=True)


@router.post("/sessions/{session_id}/reschedule", response_model=SessionOut,
             responses={409: {"description": "conflict"}})
def reschedule_session(session_id: int, body: TimesIn, principal: ApiPrincipal, db: DbSession,
                       policy: AppPolicy) -> SessionOut:
    """Move a booked session; its old claims are freed and the new ones claimed."""
    item = access.load_managed(principal, session_id, db=db)
    item = booking.reschedule(db=db, policy=policy, booking=item, starts_at=body.start, ends_at=body.end,
                              reason=body.reason, actor_id=principal.person_id)
    return session_out(policy, item, db=db, history=True)


@router.post("/sessions/{session_id}/cancel", response_model=SessionOut, responses=responses(409))
def cancel_session(session_id: int, principal: ApiPrincipal, db: DbSession, policy: AppPolicy,
                   body: CancelIn | None = None) -> SessionOut:
    """Cancel a booked session and free its claims."""
    item = access.load_managed(principal, session_id, db=db)
    item = booking.cancel(db=db, booking=item, reason=body.reason if body else "", actor_id=principal.person_id)
    return session_out(policy, item, db=db, history=True)


@router.post("/sessions/{session_id}/join", response_model=JoinOut,
             responses=responses(409, s409="not_joinable, session_not_open_yet (before the call opens)"))
def join_session(session_id: int, body: JoinIn, request: Request, principal: ApiPrincipal, db: DbSession,
                 policy: AppPolicy) -> JoinOut:
    """A short-lived join token for one's own seat (seats are personal), and where to use it."""
    item = booking.load_session(session_id, db=db)
    participant_id = body.participant_id
    if participant_id is None:
        participant_id = access.seat_for(principal, item, db=db).id
    token, expires, _ = issue_join_token(db=db, policy=policy, secret=request.app.state.secret, principal=principal,
                                         booking=item, participant_id=participant_id)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    ice = turn.participant_ice_servers(request.app.state.settings, participant_id)
    return JoinOut(token=token, ws_url=f"{scheme}://{request.url.netloc}/ws/sessions/{item.id}?token={token}",
                   expires_at=expires, ice_servers=[IceServerOut(**server) for server in ice])


# ---- calendar feeds --------------------------------------------------------------------------------
# A calendar client cannot send a bearer header: it reads the URL from GET …/feed (signed, long-lived,
# for that one feed). With a bearer header the .ics URLs work as well.

def _feed_access(request: Request, session, token: str | None, subject: str, allowed) -> None:
    if token:
        ics.check_feed_token(request.app.state.secret, token, db=session, subject=subject)
        return
    if not allowed(api_principal(request, db=session)):
        raise Forbidden()


def _may_read_leader(session, leader_id: int):
    leader = load_leader(leader_id, db=session)
    return leader, lambda p: p.person_id == leader.id or covers(p, leader.node, COORDINATORS)


def _may_read_room(session, room_id: int):
    room = load_room(room_id, db=session)
    return room, lambda p: room.id in room_ids_of(p) or covers(p, room.node, COORDINATORS)


def _ics(body: bytes) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/calendars/leaders/{leader_id}.ics", response_class=Response)
def leader_calendar(leader_id: int, request: Request, db: DbSession, policy: AppPolicy, lang: Language,
                    token: str | None = None) -> Response:
    """The leader's sessions and reception days (iCalendar); ?token= from the feed URL, or a bearer token."""
    leader, allowed = _may_read_leader(db, leader_id)
    _feed_access(request, db, token, f"leader:{leader.id}", allowed)
    return _ics(ics.leader_feed(db=db, policy=policy, leader_id=leader.id, name=leader.name, language=lang))


@router.get("/calendars/rooms/{room_id}.ics", response_class=Response)
def room_calendar(room_id: int, request: Request, db: DbSession, lang: Language,
                  token: str | None = None) -> Response:
    """The room's sessions (iCalendar); ?token= from the feed URL, or a bearer token."""
    room, allowed = _may_read_room(db, room_id)
    _feed_access(request, db, token, f"room:{room.id}", allowed)
    return _ics(ics.room_feed(db=db, room=room, language=lang))


def _feed_url(request: Request, policy: Policy, principal: Principal, path: str, subject: str,
              *, db: Session) -> FeedOut:
    token, expires = ics.feed_token(request.app.state.secret, db=db, policy=policy, subject=subject,
                                    person_id=principal.person_id)
    return FeedOut(url=f"{request.base_url}api/v1/calendars/{path}?token={token}", expires_at=expires)


@router.get("/calendars/leaders/{leader_id}/feed", response_model=FeedOut)
def leader_feed_url(leader_id: int, request: Request, principal: ApiPrincipal, db: DbSession,
                    policy: AppPolicy) -> FeedOut:
    """A signed URL a calendar client can subscribe to."""
    leader, allowed = _may_read_leader(db, leader_id)
    if not allowed(principal):
        raise Forbidden()
    return _feed_url(request, policy, principal, f"leaders/{leader.id}.ics", f"leader:{leader.id}", db=db)


@router.post("/calendars/leaders/{leader_id}/feed/revoke", status_code=204, responses=responses(403, 404))
def revoke_leader_feeds(leader_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """End every feed URL of the leader's calendar handed out so far (audited)."""
    leader, allowed = _may_read_leader(db, leader_id)
    if not allowed(principal):
        raise Forbidden()
    ics.revoke_feeds(db=db, subject=f"leader:{leader.id}", actor_id=principal.person_id)


@router.get("/calendars/rooms/{room_id}/feed", response_model=FeedOut)
def room_feed_url(room_id: int, request: Request, principal: ApiPrincipal, db: DbSession,
                  policy: AppPolicy) -> FeedOut:
    """A signed URL a calendar client can subscribe to."""
    room, allowed = _may_read_room(db, room_id)
    if not allowed(principal):
        raise Forbidden()
    return _feed_url(request, policy, principal, f"rooms/{room.id}.ics", f"room:{room.id}", db=db)


@router.post("/calendars/rooms/{room_id}/feed/revoke", status_code=204, responses=responses(403, 404))
def revoke_room_feeds(room_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """End every feed URL of the room's calendar handed out so far (audited)."""
    room, allowed = _may_read_room(db, room_id)
    if not allowed(principal):
        raise Forbidden()
    ics.revoke_feeds(db=db, subject=f"room:{room.id}", actor_id=principal.person_id)
