"""Who may see, change, book or join a session: coordinators over its nodes, its leader, its people and rooms."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from scheduling.booking import load_session
from scheduling.lookup import load_leader, load_matter, load_room
from vreception import audit
from vreception.auth.access import Principal, covers, require, require_role
from vreception.cases import access as matters
from vreception.errors import Forbidden
from vreception.models.people import Role
from vreception.models.scheduling import Participant, ReceptionSession

MANAGERS = (Role.coordinator,)


def session_paths(booking: ReceptionSession) -> list[str]:
    """The node paths a session belongs to: the leader's office and every participant's node."""
    return [booking.node_path] + [p.node_path for p in booking.participants if p.node_path]


def can_manage(principal: Principal, booking: ReceptionSession) -> bool:
    """A coordinator (or admin) over any node of the session."""
    roots = principal.paths_for(MANAGERS)
    return any(path.startswith(root) for root in roots for path in session_paths(booking))


def room_ids_of(principal: Principal) -> set[int]:
    """The rooms the principal's kiosk accounts stand for."""
    return {s.room_id for s in principal.scopes if s.role is Role.room and s.room_id is not None}


def can_see(principal: Principal, booking: ReceptionSession) -> bool:
    """Managers, the leader, the named participants and the rooms of the session."""
    if can_manage(principal, booking) or booking.leader_id == principal.person_id:
        return True
    rooms = room_ids_of(principal)
    return any(p.person_id == principal.person_id or (p.room_id is not None and p.room_id in rooms)
               for p in booking.participants)


def manageable(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition: the sessions the principal manages (same rule as can_manage)."""
    roots = principal.paths_for(MANAGERS)
    if not roots:
        return false()
    by_path = [ReceptionSession.node_path.startswith(r, autoescape=True) for r in roots]
    seats = or_(*[Participant.node_path.startswith(r, autoescape=True) for r in roots])
    inside = select(Participant.session_id).where(seats)
    if any(matters.broad(r) for r in roots):
        # A province or city office: most sessions are its own; lists walk the start-time index and check each one,
        # its seats by the session's key (a scalar subquery: an EXISTS was planned as a hashed scan of every seat).
        seated = (select(Participant.id).where(Participant.session_id == ReceptionSession.id, seats)
                  .limit(1).scalar_subquery())
        return or_(*by_path, seated.is_not(None))
    # A county office and below: the sessions its participants sit in are few ids the primary key takes (BitmapOr
    # beside the node-path index), never a hashed subplan over every session.
    return or_(*by_path, matters.among(ReceptionSession.id, inside))


def visible(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition: the sessions the principal can see (the leader's, the seats', the rooms', the managed)."""
    seats = [select(Participant.session_id).where(Participant.person_id == principal.person_id)]
    rooms = room_ids_of(principal)
    if rooms:
        seats.append(select(Participant.session_id).where(Participant.room_id.in_(rooms)))
    return or_(ReceptionSession.leader_id == principal.person_id, matters.among(ReceptionSession.id, *seats),
               manageable(principal))


def load_visible(principal: Principal, session_id: int, *, db: Session) -> ReceptionSession:
    """The session if the principal may see it; NotFound or Forbidden otherwise."""
    booking = load_session(session_id, db=db)
    if not can_see(principal, booking):
        raise Forbidden()
    return booking


def load_managed(principal: Principal, session_id: int, *, db: Session) -> ReceptionSession:
    """The session if the principal manages it (a coordinator over one of its nodes)."""
    booking = load_session(session_id, db=db)
    if not can_manage(principal, booking):
        raise Forbidden()
    return booking


# ---- seats: every seat is personal ------------------------------------------------------------------

def _sits_in_a_room(participant: Participant) -> bool:
    # People booked by name only (petitioners, representatives, agents, interpreters) sit in the room.
    return participant.person_id is None and participant.room_id is None


def may_join_as(principal: Principal, booking: ReceptionSession, participant: Participant) -> bool:
    """Only the seat's own person, or the kiosk of a room of the session for the room and the people in it."""
    if participant.person_id is not None:
        return participant.person_id == principal.person_id
    rooms = room_ids_of(principal)
    if participant.room_id is not None:
        return participant.room_id in rooms
    return _sits_in_a_room(participant) and any(p.room_id in rooms for p in booking.participants if p.room_id)


def own_seat(principal: Principal, booking: ReceptionSession) -> Participant | None:
    """The seat the signed-in person takes in BOOKING: their own (the leader's for the leader), else their room's."""
    mine = [p for p in booking.participants if p.person_id is not None and p.person_id == principal.person_id]
    rooms = room_ids_of(principal)
    mine += [p for p in booking.participants if p.room_id is not None and p.room_id in rooms]
    return mine[0] if mine else None


def seat_for(principal: Principal, booking: ReceptionSession, *, db: Session) -> Participant:
    """The principal's own seat; a coordinator over the session who was not named gets one (audited)."""
    seat = own_seat(principal, booking)
    if seat is not None:
        return seat
    if not can_manage(principal, booking):
        raise Forbidden()
    seat = Participant(role="coordinator", person_id=principal.person_id, name=principal.name)
    booking.participants.append(seat)
    db.flush()
    audit.record(db=db, action="session.coordinator_seated", entity_type="session", entity_id=booking.id,
                 actor_id=principal.person_id, data={"participant_id": seat.id})
    return seat


# ---- booking --------------------------------------------------------------------------------------------

def require_booker(principal: Principal, *, db: Session, leader_id: int, room_ids: Sequence[int],
                   matter_id: int | None, override_reason: str = "") -> None:
    """A coordinator over the leader or a room, over every room claimed, who can see the matter; a level
    override only from a coordinator at the leader's own level or above."""
    require_role(principal, MANAGERS)
    leader = load_leader(leader_id, db=db)
    rooms = [load_room(r, "room_ids", db=db) for r in room_ids]
    if not any(covers(principal, node, MANAGERS) for node in [leader.node] + [r.node for r in rooms]):
        raise Forbidden()
    for room in rooms:
        # A booking claims its rooms: nobody claims a room outside their own subtree.
        require(principal, room.node, MANAGERS)
    if override_reason.strip():
        require(principal, leader.node, MANAGERS)
    if matter_id is not None:
        # The same rule as the booking page: one books only for a matter one may read.
        if not matters.can_read(principal, load_matter(matter_id, db=db), db=db):
            raise Forbidden()
