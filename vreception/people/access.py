"""Who may manage a person's account: administrators over everything the account reaches.

Coordinators do not manage accounts: a password reset or a role is a way into every matter the account can read,
so granting one stays with the administrators of the subtree (coordinators still browse the directory).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, not_, select
from sqlalchemy.orm import Session, aliased

from vreception.auth.access import Principal, covers, require, require_role, subtree_filter
from vreception.errors import Forbidden, NotFound
from vreception.models import Node, Person, Role, RoleAssignment, Room, SignIn

MANAGERS = (Role.admin,)


def require_manager(principal: Principal) -> None:
    """Forbidden unless the principal administers some subtree."""
    require_role(principal, MANAGERS)


def may_manage(principal: Principal, person: Person) -> bool:
    """Whether the principal administers the person's node and every node their roles reach.

    A county administrator may not reset the password of someone whose roles reach beyond the county: that would
    hand them the wider account.
    """
    nodes = [person.node, *(a.node for a in person.roles)]
    return all(covers(principal, node, MANAGERS) for node in nodes)


def manageable(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on Person (joined with its Node) for the people the principal may manage."""
    scope_node = aliased(Node)
    outside = (select(RoleAssignment.id).join(scope_node, RoleAssignment.node_id == scope_node.id)
               .where(RoleAssignment.person_id == Person.id,
                      not_(subtree_filter(principal, scope_node.path, MANAGERS))))
    return and_(subtree_filter(principal, Node.path, MANAGERS), not_(exists(outside)))


def load_manageable(principal: Principal, person_id: int, *, db: Session) -> Person:
    """The person, if the principal may manage them: 404 for no such person, 403 outside the subtree."""
    require_manager(principal)
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound("error.person_not_found", id=person_id)
    if not may_manage(principal, person):
        raise Forbidden()
    return person


def require_node(principal: Principal, node_id: int, field: str = "node_id", *, db: Session) -> Node:
    """The node, if the principal administers it (404 unknown, 403 outside)."""
    node = db.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field=field, id=node_id)
    require(principal, node, MANAGERS)
    return node


def require_room(principal: Principal, room_id: int, *, db: Session) -> Room:
    """The room, if the principal administers its node (404 unknown, 403 outside)."""
    room = db.get(Room, room_id)
    if room is None:
        raise NotFound("error.room_not_found", field="room_id", id=room_id)
    require(principal, room.node, MANAGERS)
    return room


def load_sign_in(principal: Principal, sign_in_id: str, *, db: Session) -> SignIn:
    """A sign-in of a person the principal may manage (404 unknown, 403 outside)."""
    require_manager(principal)
    opened = db.get(SignIn, sign_in_id[:32]) if sign_in_id else None
    if opened is None:
        raise NotFound("error.sign_in_not_found")
    person = db.get(Person, opened.person_id)
    if person is None or not may_manage(principal, person):
        raise Forbidden()
    return opened
