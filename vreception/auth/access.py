"""Who may do what where: role checks over node subtrees, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, SQLColumnExpression, false, or_
from sqlalchemy.orm import Session

from vreception.errors import Forbidden, NotFound
from vreception.models import Node, Person, Role


@dataclass(frozen=True)
class Scope:
    """One role held over the subtree whose root has this materialized path."""

    role: Role
    node_id: int
    path: str
    room_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """The signed-in person and their scopes, as every route sees them."""

    person_id: int
    name: str
    node_id: int
    scopes: tuple[Scope, ...]

    @property
    def roles(self) -> list[str]:
        return sorted({s.role.value for s in self.scopes})

    def has_role(self, *roles: Role) -> bool:
        return any(s.role in roles for s in self.scopes)

    def paths_for(self, roles: Iterable[Role]) -> list[str]:
        """The subtree roots (paths) where the person holds any of ROLES (admin counts everywhere)."""
        wanted = set(roles) | {Role.admin}
        return [s.path for s in self.scopes if s.role in wanted]


def principal_for(person: Person) -> Principal:
    """The principal of a loaded person."""
    scopes = tuple(Scope(a.role, a.node_id, a.node.path, a.room_id) for a in person.roles)
    return Principal(person.id, person.name, person.node_id, scopes)


def covers(principal: Principal, node: Node, roles: Iterable[Role]) -> bool:
    """Whether the principal holds one of ROLES over NODE's subtree position."""
    return any(node.path.startswith(p) for p in principal.paths_for(roles))


def require(principal: Principal, node: Node, roles: Iterable[Role]) -> None:
    """Raise Forbidden unless the principal holds one of ROLES at or above NODE."""
    if not covers(principal, node, roles):
        raise Forbidden()


def require_role(principal: Principal, roles: Iterable[Role]) -> None:
    """Raise Forbidden unless the principal holds one of ROLES somewhere."""
    if not principal.paths_for(roles):
        raise Forbidden()


def subtree_filter(principal: Principal, path_column: SQLColumnExpression[str],
                   roles: Iterable[Role]) -> ColumnElement[bool]:
    """A SQL condition restricting PATH_COLUMN to the principal's subtrees for ROLES."""
    paths = principal.paths_for(roles)
    if not paths:
        return false()
    return or_(*[path_column.startswith(p, autoescape=True) for p in paths])


def load_node(node_id: int, *, db: Session) -> Node:
    """A node by id, or NotFound."""
    node = db.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    return node
