"""Administering video rooms: add, rename, (de)activate, weekly hours and closures by local dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from scheduling import rooms
from scheduling.policy import Policy, local_moment
from vreception import audit
from vreception import org as org_service
from vreception.clock import now
from vreception.errors import Conflict, Invalid, NotFound
from vreception.models import Node, Room
from vreception.models.scheduling import Participant, ReceptionSession, RoomClosure, RoomHours
from vreception.org import clean_name
from vreception.org.admin import UPCOMING, require_current

MAX_CLOSURE_DAYS = 366
MAX_REASON = 200


class RoomInUse(Conflict):
    """Future booked sessions still use the room (409)."""

    code = "room_in_use"


def add_room(*, db: Session, node: Node, name: str, actor_id: int | None = None) -> Room:
    """A new video room at a current node."""
    require_current(node)
    return org_service.create_room(db=db, node_id=node.id, name=name, actor_id=actor_id)


def rename_room(*, db: Session, room: Room, name: str, actor_id: int | None = None) -> Room:
    """Give ROOM a new name."""
    new_name = clean_name(name)
    if new_name != room.name:
        old, room.name = room.name, new_name
        db.flush()
        audit.record(db=db, action="room.renamed", entity_type="room", entity_id=room.id, actor_id=actor_id,
                     data={"from": old, "to": new_name})
    return room


def in_use(*, db: Session, room: Room, at: datetime | None = None) -> bool:
    """Whether a session not yet over and not cancelled holds ROOM."""
    held = (select(Participant.id).join(ReceptionSession, Participant.session_id == ReceptionSession.id)
            .where(Participant.room_id == room.id, ReceptionSession.state.in_(UPCOMING),
                   ReceptionSession.ends_at > (at or now())))
    return bool(db.scalar(select(exists(held))))


def set_active(*, db: Session, room: Room, active: bool, actor_id: int | None = None) -> Room:
    """Deactivate ROOM (refused while future sessions hold it) or bring it back (not at a retired node)."""
    if active == room.active:
        return room
    if active:
        require_current(room.node)
    elif in_use(db=db, room=room):
        raise RoomInUse("admin_org.error.room_in_use", field="active", name=room.name)
    room.active = active
    db.flush()
    audit.record(db=db, action="room.activated" if active else "room.deactivated", entity_type="room",
                 entity_id=room.id, actor_id=actor_id, data={"name": room.name})
    return room


def hours_of(room: Room, *, db: Session) -> list[RoomHours]:
    """ROOM's declared opening hours (none: the default office hours on working days)."""
    query = select(RoomHours).where(RoomHours.room_id == room.id).order_by(RoomHours.weekday, RoomHours.opens)
    return list(db.scalars(query))


def set_weekly_hours(*, db: Session, room: Room, hours: list[tuple[int | None, time, time]],
                     actor_id: int | None = None) -> list[RoomHours]:
    """Replace ROOM's hours (weekday or None for every working day, opens, closes); no two spans of a day overlap."""
    for i, (weekday, opens, closes) in enumerate(hours):
        for other, other_opens, other_closes in hours[i + 1:]:
            if (weekday is None or other is None or weekday == other) and opens < other_closes and other_opens < closes:
                raise Invalid("admin_org.error.hours_overlap", field="hours")
    return rooms.set_room_hours(db=db, room=room, hours=hours, actor_id=actor_id)


def closures_of(room: Room, *, db: Session, since: datetime | None = None, limit: int = 200) -> list[RoomClosure]:
    """ROOM's closures not over before SINCE (all by default), by start."""
    query = select(RoomClosure).where(RoomClosure.room_id == room.id)
    if since is not None:
        query = query.where(RoomClosure.ends_at > since)
    return list(db.scalars(query.order_by(RoomClosure.starts_at, RoomClosure.id).limit(limit)))


def close_days(*, db: Session, room: Room, policy: Policy, first: date, last: date, reason: str,
               actor_id: int | None = None) -> RoomClosure:
    """Close ROOM from local day FIRST through LAST (whole days), for REASON."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("admin_org.error.reason_required", field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid("error.name_too_long", field="reason", max=MAX_REASON)
    if last < first:
        raise Invalid("error.closure_order", field="end")
    if (last - first).days >= MAX_CLOSURE_DAYS:
        raise Invalid("admin_org.error.closure_too_long", field="end", days=MAX_CLOSURE_DAYS)
    return rooms.add_closure(db=db, room=room, starts_at=local_moment(policy, first, time(0)),
                             ends_at=local_moment(policy, last + timedelta(days=1), time(0)), reason=reason,
                             actor_id=actor_id)


def remove_closure(*, db: Session, room: Room, closure_id: int, actor_id: int | None = None) -> None:
    """Lift one of ROOM's closures."""
    closure = db.get(RoomClosure, closure_id)
    if closure is None or closure.room_id != room.id:
        raise NotFound("admin_org.error.closure_not_found", field="closure_id", id=closure_id)
    data = {"closure_id": closure.id, "start": closure.starts_at.isoformat(), "end": closure.ends_at.isoformat(),
            "reason": closure.reason}
    db.delete(closure)
    db.flush()
    audit.record(db=db, action="room.reopened", entity_type="room", entity_id=room.id, actor_id=actor_id, data=data)
