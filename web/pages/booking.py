"""Booking a session from a matter (free slots as a week grid, or a walk-in now or later today; rules checked before
submitting), its page, rescheduling and cancelling."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from scheduling import access, availability, booking
from scheduling.policy import floor_to_quantum
from scheduling.states import JOINABLE
from scheduling.views import history_of, people_of
from vreception.cases import access as matters
from vreception.cases import queries as matter_queries
from vreception.clock import now
from vreception.errors import DomainError, Forbidden, Invalid
from vreception.models import Matter, MatterState, Role
from vreception.models.scheduling import ReceptionSession, SessionState
from vreception.org.queries import bookable_leaders, bookable_rooms
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt, dry_run
from web.pages.support import (
    User,
    check_csrf,
    message,
    page,
    policy,
    require_any,
    today,
    week_bounds,
    zone,
)

router = APIRouter()
OFFICE = (Role.coordinator,)
WALK_IN = "walk_in"
WALK_IN_CHOICES = 20  # registered matters offered on the walk-in page
# The form fields a refused booking keeps when the form comes back.
KEPT = (
    "leader_id",
    "room_id",
    "week",
    "override_reason",
    "reason",
    "mode",
    "when",
    "at_time",
    "minutes",
    "leader_present",
)


def week_of(request: Request, raw: str | None) -> tuple[date, date]:
    try:
        chosen = date.fromisoformat(raw) if raw else None
    except ValueError:
        chosen = None
    return week_bounds(request, chosen)


def week_grid(request: Request, session, leader_id: int | None, room_id: int | None, monday: date) -> list[dict]:
    """Seven days, each with the leader's free slots (in the room) that day."""
    tz = zone(request)
    days: list[dict[str, Any]] = [{"day": monday + timedelta(days=i), "slots": []} for i in range(7)]
    if leader_id is None:
        return days
    first = datetime.combine(monday, time(0), tz)
    try:
        slots = availability.free_slots(
            db=session,
            policy=policy(request),
            leader_id=leader_id,
            room_id=room_id,
            first=first,
            last=first + timedelta(days=7),
        )
    except DomainError:
        return days
    for slot in slots:
        local = slot.start.astimezone(tz)
        days[(local.date() - monday).days]["slots"].append(slot)
    return days


def _participants(matter: Matter) -> list[booking.ParticipantSpec]:
    """The petitioners who sit in the room: a group's representatives, or everyone."""
    links = [link for link in matter.petitioner_links if link.representative] or matter.petitioner_links
    role = "representative" if matter.is_group else "petitioner"
    return [booking.ParticipantSpec(role, None, link.petitioner.name) for link in links]


def _times(form, tz) -> tuple[datetime | None, datetime | None]:
    """The chosen slot, or the typed start and length."""
    slot = forms.text(form, "slot", 80)
    if slot:
        slot_start, _, slot_end = slot.partition("|")
        try:
            return datetime.fromisoformat(slot_start), datetime.fromisoformat(slot_end)
        except ValueError:
            raise Invalid("error.times_required", field="slot") from None
    start = forms.local_datetime(form, "start_at", tz)
    minutes = forms.integer(form, "minutes") or 30
    return start, (start + timedelta(minutes=minutes)) if start else None


def _walk_in_times(request: Request, form) -> tuple[datetime | None, datetime | None]:
    """A walk-in's start and end: now (the booking starts it at the current quantum) or a time later today."""
    minutes = forms.integer(form, "minutes") or 30
    if forms.text(form, "when", 10) == "later":
        at = forms.clock_time(form, "at_time")
        if at is None:
            raise Invalid("error.times_required", field="at_time")
        start = datetime.combine(today(request), at, zone(request))
        return start, start + timedelta(minutes=minutes)
    return None, floor_to_quantum(policy(request), now()) + timedelta(minutes=minutes)


def _book(request: Request, session, principal, matter: Matter, form) -> ReceptionSession:
    leader_id, room_id = forms.integer(form, "leader_id"), forms.integer(form, "room_id")
    if leader_id is None or room_id is None:
        raise Invalid("error.times_required", field="leader_id")
    override_reason = forms.text(form, "override_reason", 1000)
    access.require_booker(
        principal,
        db=session,
        leader_id=leader_id,
        room_ids=[room_id],
        matter_id=matter.id,
        override_reason=override_reason,
    )
    walk_in = forms.text(form, "mode", 10) == WALK_IN
    if walk_in and forms.text(form, "leader_present", 10) != "on":
        # A walk-in skips the plan and the leader's absences: the office vouches that the leader is there.
        raise Invalid("error.walk_in_leader_present", field="leader_present")
    start, end = _walk_in_times(request, form) if walk_in else _times(form, zone(request))
    return booking.book(
        db=session,
        policy=policy(request),
        kind="reception",
        leader_id=leader_id,
        room_ids=[room_id],
        matter_id=matter.id,
        starts_at=start,
        ends_at=end,
        participants=_participants(matter),
        ad_hoc=walk_in,
        invited=not walk_in and forms.text(form, "invited") == "on",
        reason=forms.text(form, "reason", 1000),
        override_reason=override_reason,
        coordinator=True,
        actor_id=principal.person_id,
    )


def _form_page(
    request: Request, session, principal, matter: Matter, values: dict, status_code: int = 200, error: str | None = None
):
    leaders, rooms = bookable_leaders(principal, db=session), bookable_rooms(principal, db=session)
    leader_id = _int(values.get("leader_id")) or (leaders[0].id if leaders else None)
    room_id = _int(values.get("room_id")) or (rooms[0].id if rooms else None)
    monday, _ = week_of(request, values.get("week"))
    walk_in = values.get("mode") == WALK_IN
    return page(
        request,
        "booking.html",
        principal,
        status_code=status_code,
        error=error,
        matter=matter,
        leaders=leaders,
        rooms=rooms,
        leader_id=leader_id,
        room_id=room_id,
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
        grid=[] if walk_in else week_grid(request, session, leader_id, room_id, monday),
        values=values,
        walk_in=walk_in,
        today=today(request),
    )


def _int(raw) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _bookable_matter(session, principal, matter_id: int) -> Matter:
    require_any(principal, *OFFICE)
    return matters.load_readable(principal, matter_id, db=session)


@router.get("/matters/{matter_id}/book")
def booking_form(matter_id: int, request: Request, principal: User, db: DbSession):
    """Pick a leader and a room, see the free slots of a week, book one."""
    matter = _bookable_matter(db, principal, matter_id)
    return _form_page(request, db, principal, matter, dict(request.query_params))


@router.post("/matters/{matter_id}/book/check")
def booking_check(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Run every booking rule on the form as it stands and roll back: the verdict, as a partial."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = _bookable_matter(db, principal, matter_id)
    chosen = forms.text(form, "mode", 10) == WALK_IN or bool(
        forms.text(form, "slot", 80) or forms.text(form, "start_at", 40)
    )
    error = dry_run(lambda: _book(request, db, principal, matter, form), db=db) if chosen else None
    if isinstance(error, Forbidden):
        raise error
    return page(
        request,
        "_booking_check.html",
        principal,
        chosen=chosen,
        error=message(request, error) if error else None,
        code=error.code if error else None,
    )


@router.post("/matters/{matter_id}/book")
def booking_submit(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Book the session; on a broken rule the form comes back with the reason."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = _bookable_matter(db, principal, matter_id)
    item, error = attempt(lambda: _book(request, db, principal, matter, form), db=db)
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        values = {k: form.get(k) for k in KEPT}
        return _form_page(
            request, db, principal, matter, values, status_code=error.status, error=message(request, error)
        )
    assert item is not None  # attempt() gives a result when there is no error
    return RedirectResponse(f"/sessions/{item.id}", status_code=303)


@router.get("/walk-in")
def walk_in_page(request: Request, principal: User, db: DbSession):
    """现场接访 from the dashboard: register the visitor's matter, or pick a registered one, then book it now or later
    today."""
    require_any(principal, *OFFICE)
    found = matter_queries.list_matters(db=db, principal=principal, state=MatterState.registered, limit=WALK_IN_CHOICES)
    return page(request, "walk_in.html", principal, matters=found.items, total=found.total)


def _session_page(
    request: Request,
    session,
    principal,
    item: ReceptionSession,
    status_code: int = 200,
    error: str | None = None,
    week: str | None = None,
):
    manage = access.can_manage(principal, item) and item.state is SessionState.booked
    room_id = next((p.room_id for p in item.participants if p.room_id), None)
    monday, _ = week_of(request, week or item.starts_at.astimezone(zone(request)).date().isoformat())
    return page(
        request,
        "session.html",
        principal,
        status_code=status_code,
        error=error,
        item=item,
        **people_of(item, db=session),
        manage=manage,
        history=history_of(item.id, db=session),
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
        grid=week_grid(request, session, item.leader_id, room_id, monday) if manage else [],
        joinable=item.state in JOINABLE
        and (access.own_seat(principal, item) is not None or access.can_manage(principal, item)),
    )


@router.get("/sessions/{session_id}")
def session_page(session_id: int, request: Request, principal: User, db: DbSession, week: str | None = None):
    """A session: time, people, history; reschedule and cancel while it is booked."""
    return _session_page(request, db, principal, access.load_visible(principal, session_id, db=db), week=week)


@router.post("/sessions/{session_id}/reschedule")
def session_reschedule(session_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Move the session to another free slot (or a typed time)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    item = access.load_managed(principal, session_id, db=db)

    def do():
        start, end = _times(form, zone(request))
        return booking.reschedule(
            db=db,
            policy=policy(request),
            booking=item,
            starts_at=start,
            ends_at=end,
            reason=forms.text(form, "reason", 1000),
            actor_id=principal.person_id,
        )

    _, error = attempt(do, db=db)
    if error is not None:
        db.refresh(item)
        return _session_page(request, db, principal, item, status_code=error.status, error=message(request, error))
    return RedirectResponse(f"/sessions/{item.id}", status_code=303)


@router.post("/sessions/{session_id}/cancel")
def session_cancel(session_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Cancel the booked session with a reason."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    item = access.load_managed(principal, session_id, db=db)
    _, error = attempt(
        lambda: booking.cancel(db=db, booking=item, reason=forms.text(form, "reason", 1000), actor_id=principal.person_id),
        db=db,
    )
    if error is not None:
        db.refresh(item)
        return _session_page(request, db, principal, item, status_code=error.status, error=message(request, error))
    return RedirectResponse(f"/sessions/{item.id}", status_code=303)
