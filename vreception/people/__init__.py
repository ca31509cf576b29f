"""People and their roles: accounts, role assignments, sign-in."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.auth import password_policy
from vreception.auth.passwords import check_password, hash_password
from vreception.errors import BadCredentials, Conflict, Invalid, NotFound
from vreception.models import Node, Person, Role, RoleAssignment, Room
from vreception.org import clean_name

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")
MIN_PASSWORD = password_policy.MIN_LENGTH


def _parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid("error.role_unknown", field="role", role=role) from None


def create_person(
    *,
    db: Session,
    name: str,
    node_id: int,
    title: str = "",
    username: str | None = None,
    password: str | None = None,
    actor_id: int | None = None,
) -> Person:
    """Add a person at a node; with a username and password they can sign in."""
    if db.get(Node, node_id) is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    if username is not None:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise Invalid("error.username_invalid", field="username")
        password_policy.check(password, username=username, field="password")
        if db.scalar(select(Person.id).where(Person.username == username)) is not None:
            raise Conflict("error.username_taken", field="username", username=username)
    person = Person(
        name=clean_name(name), title=(title or "").strip()[:200], node_id=node_id, username=username,
        password_hash=hash_password(password) if username and password is not None else None,  # checked above
    )
    db.add(person)
    db.flush()
    audit.record(db=db, action="person.created", entity_type="person", entity_id=person.id, actor_id=actor_id,
                 data={"name": person.name, "node_id": node_id, "username": username})
    return person


def assign_role(
    *,
    db: Session,
    person: Person,
    role: str,
    node_id: int | None = None,
    room_id: int | None = None,
    actor_id: int | None = None,
) -> RoleAssignment:
    """Give PERSON a role over the subtree of NODE_ID (their own node by default)."""
    parsed = _parse_role(role)
    if parsed is Role.room:
        room = db.get(Room, room_id) if room_id is not None else None
        if room is None:
            raise Invalid("error.room_required", field="room_id")
        node_id = room.node_id
    node_id = node_id if node_id is not None else person.node_id
    if db.get(Node, node_id) is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    if any(a.role is parsed and a.node_id == node_id for a in person.roles):
        raise Conflict("error.role_taken", field="role")
    assignment = RoleAssignment(role=parsed, node_id=node_id, room_id=room_id if parsed is Role.room else None)
    person.roles.append(assignment)
    db.flush()
    audit.record(db=db, action="role.assigned", entity_type="person", entity_id=person.id, actor_id=actor_id,
                 data={"role": parsed.value, "node_id": node_id, "room_id": assignment.room_id})
    return assignment


def authenticate(*, db: Session, username: str, password: str) -> Person:
    """The active person with this username and password, or BadCredentials."""
    person = db.scalar(select(Person).where(Person.username == (username or "").strip().lower()))
    ok = check_password(password or "", person.password_hash if person else None)
    if person is None or not ok or not person.active:
        raise BadCredentials()
    return person


def list_people(*, db: Session, role: str | None = None, node_id: int | None = None,
                within: ColumnElement[bool] | None = None) -> list[Person]:
    """People filtered by role and by node (the node itself), optionally within a subtree condition."""
    query = select(Person).join(Node, Person.node_id == Node.id).where(Person.active.is_(True)).order_by(Person.id)
    if role:
        query = query.where(Person.roles.any(RoleAssignment.role == _parse_role(role)))
    if node_id is not None:
        query = query.where(Person.node_id == node_id)
    if within is not None:
        query = query.where(within)
    return list(db.scalars(query))
