"""Who may administer the organisation: nodes by administrators, rooms' hours and closures by coordinators too."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal, require, require_role
from vreception.errors import NotFound
from vreception.models import Node, Role, Room

ADMINS = (Role.admin,)
# Coordinators keep their rooms' opening hours and closures (admins count as every role).
ROOM_KEEPERS = (Role.coordinator,)


def node_for_admin(principal: Principal, node_id: int, field: str = "node_id", *, db: Session) -> Node:
    """The node NODE_ID if the principal administers its subtree: 403 for other roles, 404 unknown, 403 outside."""
    require_role(principal, ADMINS)
    node = db.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field=field, id=node_id)
    require(principal, node, ADMINS)
    return node


def _room(principal: Principal, room_id: int, roles: tuple[Role, ...], *, db: Session) -> Room:
    require_role(principal, roles)
    room = db.get(Room, room_id)
    if room is None:
        raise NotFound("error.room_not_found", field="room_id", id=room_id)
    require(principal, room.node, roles)
    return room


def room_for_admin(principal: Principal, room_id: int, *, db: Session) -> Room:
    """The room ROOM_ID if the principal administers its node (to rename or deactivate it)."""
    return _room(principal, room_id, ADMINS, db=db)


def room_for_keeper(principal: Principal, room_id: int, *, db: Session) -> Room:
    """The room ROOM_ID if the principal coordinates (or administers) its node (its hours and closures)."""
    return _room(principal, room_id, ROOM_KEEPERS, db=db)


def require_keeper(principal: Principal) -> None:
    """Forbidden unless the principal may keep rooms somewhere."""
    require_role(principal, ROOM_KEEPERS)


def require_admin(principal: Principal) -> None:
    """Forbidden unless the principal administers somewhere."""
    require_role(principal, ADMINS)
