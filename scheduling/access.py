"""Who may see, change or join a session: coordinators over its nodes, its leader, its people and rooms."""

from __future__ import annotations

from sqlalchemy import exists, false, or_, select

from vreception.auth.access import Principal
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


def visible(principal: Principal):
    """A SQL condition: the sessions the principal can see."""
    roots = principal.paths_for(MANAGERS)
    by_path = [ReceptionSession.node_path.startswith(r, autoescape=True) for r in roots]
    by_path += [exists(select(Participant.id).where(Participant.session_id == ReceptionSession.id,
                                                    Participant.node_path.startswith(r, autoescape=True)))
                for r in roots]
    mine = exists(select(Participant.id).where(Participant.session_id == ReceptionSession.id,
                                               Participant.person_id == principal.person_id))
    rooms = room_ids_of(principal)
    room_cond = (exists(select(Participant.id).where(Participant.session_id == ReceptionSession.id,
                                                     Participant.room_id.in_(rooms))) if rooms else false())
    return or_(ReceptionSession.leader_id == principal.person_id, mine, room_cond, *by_path)
