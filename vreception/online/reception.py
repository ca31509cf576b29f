"""网上预约: a petitioner with a matter asks for a video reception; the coordinators approve (and book as usual)
or refuse with a reason sent by SMS."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases import public
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.errors import Conflict, Invalid
from vreception.models import Matter, Node, Room
from vreception.models.online import OnlineKind, OnlineRequest, OnlineState
from vreception.online import texting
from vreception.online.errors import AlreadyAnswered

MAX_DAYS = 3
AHEAD_DAYS = 60  # preferred days within two months
MAX_NOTE = 500
MAX_REASON = 200  # a refusal goes out by SMS


def rooms_near(matter: Matter, *, db: Session) -> list[Room]:
    """Active video rooms in the subtree of the place the petitioner comes from (the matter's origin)."""
    origin = db.get(Node, matter.origin_node_id)
    assert origin is not None  # a foreign key
    return list(db.scalars(select(Room).join(Node, Room.node_id == Node.id)
                           .where(Room.active.is_(True), Node.path.startswith(origin.path, autoescape=True))
                           .order_by(Node.path, Room.id).limit(100)))


def preferred(days: list[date], today: date) -> list[date]:
    """The preferred days, sorted and distinct: one to three, after today, within AHEAD_DAYS."""
    chosen = sorted(set(days))
    if not 1 <= len(chosen) <= MAX_DAYS:
        raise Invalid("online.error.days_count", field="days", max=MAX_DAYS)
    if any(not today < d <= today + timedelta(days=AHEAD_DAYS) for d in chosen):
        raise Invalid("online.error.days_range", field="days", max=AHEAD_DAYS)
    return chosen


def ask(*, db: Session, matter: Matter, days: list[date], room_id: int | None, note: str, today: date) -> OnlineRequest:
    """Queue a reception request at the coordinators of the matter's handling body (one waiting per matter)."""
    if public.is_concluded(matter):
        raise Invalid("online.error.matter_concluded", field="number")
    chosen = preferred(days, today)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid("online.error.note_too_long", field="note", max=MAX_NOTE)
    if room_id not in {r.id for r in rooms_near(matter, db=db)}:
        raise Invalid("online.error.room", field="room_id")
    waiting = db.scalar(select(OnlineRequest.id).where(OnlineRequest.matter_id == matter.id,
                                                       OnlineRequest.kind == OnlineKind.reception,
                                                       OnlineRequest.state == OnlineState.waiting))
    if waiting is not None:
        raise Conflict("online.error.already_waiting", field="number")
    office = db.get(Node, matter.handling_node_id)
    assert office is not None  # a foreign key
    request = OnlineRequest(kind=OnlineKind.reception, state=OnlineState.waiting, node_id=office.id,
                            node_path=office.path, matter_id=matter.id, received_at=now(),
                            preferred_days=",".join(d.isoformat() for d in chosen), room_id=room_id, note=note)
    db.add(request)
    db.flush()
    audit.record(db=db, action="online.reception_asked", entity_type="online_request", entity_id=request.id,
                 data={"matter_id": matter.id, "days": request.preferred_days, "room_id": room_id})
    return request


def _open(request: OnlineRequest, kind: OnlineKind) -> None:
    if request.kind is not kind:
        raise Invalid("online.error.wrong_kind", field="kind")
    if request.state is not OnlineState.waiting:
        raise AlreadyAnswered("online.error.already_answered")


def approve(*, db: Session, request: OnlineRequest, actor_id: int | None) -> OnlineRequest:
    """Approve: the office books the reception as any other (the booking form, prefilled)."""
    _open(request, OnlineKind.reception)
    request.state, request.decided_at, request.decided_by = OnlineState.approved, now(), actor_id
    audit.record(db=db, action="online.reception_approved", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id, data={"matter_id": request.matter_id})
    return request


def refuse(*, db: Session, request: OnlineRequest, reason: str, actor_id: int | None,
           protector: Protector) -> OnlineRequest:
    """Refuse with a reason, which goes to the petitioner by SMS."""
    _open(request, OnlineKind.reception)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("error.reason_required", field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid("online.error.reason_too_long", field="reason", max=MAX_REASON)
    request.state, request.decided_at, request.decided_by, request.reason = (OnlineState.refused, now(), actor_id,
                                                                             reason)
    matter = db.get(Matter, request.matter_id)
    assert matter is not None  # a reception request has its matter
    sent = texting.to_matter(db=db, matter=matter, template="reception_refused", protector=protector,
                             actor_id=actor_id, reason=reason)
    audit.record(db=db, action="online.reception_refused", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id, data={"matter_id": matter.id, "reason": reason, "sms": sent})
    return request


def booking_query(request: OnlineRequest, reason: str) -> dict[str, str]:
    """The booking form's query for an approved request: the room, the week of the first preferred day, REASON."""
    first = request.preferred_days.split(",")[0]
    return {"room_id": str(request.room_id or ""), "week": first, "reason": reason}
