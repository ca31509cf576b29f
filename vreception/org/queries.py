"""Reads of the organisation for a principal: nodes, leaders and rooms in their care (filtered in SQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, subtree_filter
from vreception.models import Node, NodeKind, Person, Role, RoleAssignment, Room

OFFICE = (Role.coordinator,)
MAX_NODES = 500
MAX_LEADERS = 300
MAX_ROOMS = 500


def office_nodes(principal: Principal, kind: NodeKind | None = None, limit: int = MAX_NODES,
                 *, db: Session) -> list[Node]:
    """Nodes in the coordinator's subtrees (for choosing an origin, an office, a unit)."""
    query = (select(Node).where(subtree_filter(principal, Node.path, OFFICE), Node.retired_at.is_(None))
             .order_by(Node.code).limit(limit))
    if kind is not None:
        query = query.where(Node.kind == kind)
    return list(db.scalars(query))


def _leaders() -> Select[Person]:
    return (select(Person).join(Node, Person.node_id == Node.id)
            .where(Person.id.in_(select(RoleAssignment.person_id).where(RoleAssignment.role == Role.leader)),
                   Person.active.is_(True)))


def leaders_in(principal: Principal, roles: Sequence[Role] = OFFICE, *, db: Session) -> list[Person]:
    """Leaders seated in the principal's subtrees for ROLES."""
    query = _leaders().where(subtree_filter(principal, Node.path, roles)).order_by(Node.path, Person.id)
    return list(db.scalars(query.limit(MAX_LEADERS)))


def bookable_leaders(principal: Principal, *, db: Session) -> list[Person]:
    """Leaders in the coordinator's subtrees and on the chain above them (one may book upward)."""
    above = {int(part) for root in principal.paths_for(OFFICE) for part in root.strip("/").split("/") if part}
    query = (_leaders().where(or_(subtree_filter(principal, Node.path, OFFICE), Node.id.in_(above)))
             .order_by(Node.path, Person.id))
    return list(db.scalars(query.limit(MAX_LEADERS)))


def bookable_rooms(principal: Principal, *, db: Session) -> list[Room]:
    """Active rooms in the coordinator's subtrees."""
    query = (select(Room).join(Node, Room.node_id == Node.id)
             .where(Room.active.is_(True), subtree_filter(principal, Node.path, OFFICE)).order_by(Node.path))
    return list(db.scalars(query.limit(MAX_ROOMS)))


def active_rooms(*, db: Session, node_id: int | None = None) -> list[Room]:
    """Active video rooms, optionally at one node, in creation order."""
    query = select(Room).where(Room.active.is_(True)).order_by(Room.id)
    if node_id is not None:
        query = query.where(Room.node_id == node_id)
    return list(db.scalars(query))


def node(node_id: int, *, db: Session) -> Node | None:
    """One node, or None."""
    return db.get(Node, node_id)


def room(room_id: int, *, db: Session) -> Room | None:
    """One room, or None."""
    return db.get(Room, room_id)


def person(person_id: int, *, db: Session) -> Person | None:
    """One person, or None."""
    return db.get(Person, person_id)


def nodes_by_id(ids: Iterable[int], *, db: Session) -> dict[int, Node]:
    """The nodes with IDS, by id (missing ones left out)."""
    wanted = set(ids)
    return {n.id: n for n in db.scalars(select(Node).where(Node.id.in_(wanted)))} if wanted else {}


def people_by_id(ids: Iterable[int], *, db: Session) -> dict[int, Person]:
    """The people with IDS, by id (missing ones left out)."""
    wanted = set(ids)
    return {p.id: p for p in db.scalars(select(Person).where(Person.id.in_(wanted)))} if wanted else {}


def rooms_by_id(ids: Iterable[int], *, db: Session) -> dict[int, Room]:
    """The rooms with IDS, by id (missing ones left out)."""
    wanted = set(ids)
    return {r.id: r for r in db.scalars(select(Room).where(Room.id.in_(wanted)))} if wanted else {}
