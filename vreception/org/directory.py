"""Bounded reads of the organisation: directory lists by id keyset, the administrator's tree and rooms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, subtree_filter
from vreception.errors import Invalid
from vreception.models import Node, NodeLevel, Person, Role, RoleAssignment, Room
from vreception.org.access import ADMINS, ROOM_KEEPERS
from vreception.paging import count

T = TypeVar("T")
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_TREE = 5000


@dataclass
class Slice(Generic[T]):
    """One slice of a directory list ordered by id: its rows, the filtered total, and whether more follow."""

    rows: list[T]
    total: int
    more: bool


def _slice(query: Select[Any], id_column: Any, *, db: Session, after: int | None, limit: int) -> Slice[Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("error.invalid_field", field="limit", reason=f"1–{MAX_LIMIT}")
    total = count(query, db=db)
    if after is not None:
        query = query.where(id_column > after)
    rows = list(db.scalars(query.order_by(id_column).limit(limit + 1)))
    return Slice(rows[:limit], total, len(rows) > limit)


def nodes(*, db: Session, level: str | None = None, parent_id: int | None = None, include_retired: bool = False,
          after: int | None = None, limit: int = DEFAULT_LIMIT) -> Slice[Node]:
    """Nodes by level and parent (retired ones left out unless asked), by id after AFTER."""
    query = select(Node)
    if level:
        try:
            query = query.where(Node.level == NodeLevel(level))
        except ValueError:
            raise Invalid("error.level_unknown", field="level", level=level) from None
    if parent_id is not None:
        query = query.where(Node.parent_id == parent_id)
    if not include_retired:
        query = query.where(Node.retired_at.is_(None))
    return _slice(query, Node.id, db=db, after=after, limit=limit)


def rooms(*, db: Session, node_id: int | None = None, after: int | None = None,
          limit: int = DEFAULT_LIMIT) -> Slice[Room]:
    """Active video rooms, optionally at one node, by id after AFTER."""
    query = select(Room).where(Room.active.is_(True))
    if node_id is not None:
        query = query.where(Room.node_id == node_id)
    return _slice(query, Room.id, db=db, after=after, limit=limit)


def people(*, db: Session, role: str | None = None, node_id: int | None = None, after: int | None = None,
           limit: int = DEFAULT_LIMIT) -> Slice[Person]:
    """Active people by role and node (the node itself), by id after AFTER."""
    query = select(Person).where(Person.active.is_(True))
    if role:
        try:
            wanted = Role(role)
        except ValueError:
            raise Invalid("error.role_unknown", field="role", role=role) from None
        query = query.where(Person.roles.any(RoleAssignment.role == wanted))
    if node_id is not None:
        query = query.where(Person.node_id == node_id)
    return _slice(query, Person.id, db=db, after=after, limit=limit)


@dataclass
class Branch:
    """A node of the administrator's tree with its children, in code order."""

    node: Node
    children: list[Branch]
    depth: int


def admin_tree(principal: Principal, *, db: Session, include_retired: bool = False) -> list[Branch]:
    """The subtrees the principal administers, as nested branches (retired nodes left out unless asked)."""
    query = select(Node).where(subtree_filter(principal, Node.path, ADMINS)).order_by(Node.code).limit(MAX_TREE)
    if not include_retired:
        query = query.where(Node.retired_at.is_(None))
    found = list(db.scalars(query))
    ids = {n.id for n in found}
    children: dict[int | None, list[Node]] = {}
    for node in found:
        children.setdefault(node.parent_id if node.parent_id in ids else None, []).append(node)

    def grow(node: Node, depth: int) -> Branch:
        return Branch(node, [grow(c, depth + 1) for c in children.get(node.id, [])], depth)

    return [grow(root, 0) for root in children.get(None, [])]


def flatten(branches: list[Branch]) -> list[Branch]:
    """The branches depth first, as a page lists them."""
    out: list[Branch] = []
    for branch in branches:
        out.append(branch)
        out.extend(flatten(branch.children))
    return out


def kept_rooms(principal: Principal, *, db: Session, node_id: int | None = None, limit: int = MAX_LIMIT) -> list[Room]:
    """Rooms (active or not) in the subtrees where the principal keeps rooms, by node then name."""
    query = (select(Room).join(Node, Room.node_id == Node.id)
             .where(subtree_filter(principal, Node.path, ROOM_KEEPERS)).order_by(Node.path, Room.name, Room.id))
    if node_id is not None:
        query = query.where(Room.node_id == node_id)
    return list(db.scalars(query.limit(limit)))


def admin_nodes(principal: Principal, *, db: Session) -> list[Node]:
    """Current nodes the principal administers (for pickers), in code order."""
    query = (select(Node).where(subtree_filter(principal, Node.path, ADMINS), Node.retired_at.is_(None))
             .order_by(Node.code).limit(MAX_TREE))
    return list(db.scalars(query))
