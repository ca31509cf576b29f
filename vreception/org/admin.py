"""Administering the organisation tree: rename, move and retire (撤并) nodes, keeping every copied path right."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from vreception import audit
from vreception.clock import now
from vreception.errors import Conflict, Invalid
from vreception.i18n import Msg
from vreception.models import LEVELS, Matter, MatterState, Node, NodeKind, Person, Room, Task
from vreception.models.scheduling import Participant, ReceptionSession, SessionState
from vreception.org import _check_parent, clean_name, create_node

# Every column holding a copy of a node's materialized path: a move rewrites them all in one transaction,
# so subtree filters (which read the copies, not the nodes) keep finding the same rows.
PATH_COPIES: tuple[InstrumentedAttribute[str] | InstrumentedAttribute[str | None], ...] = (
    Node.path, Matter.handling_path, Matter.hidden_from_path, ReceptionSession.node_path, Participant.node_path,
    Task.unit_path)
CLOSED_MATTER = (MatterState.final, MatterState.closed)
UPCOMING = (SessionState.booked, SessionState.open, SessionState.live)


class NodeRetired(Conflict):
    """The node is retired: nothing is added under it, it is not renamed or moved (409)."""

    code = "node_retired"


class NodeInUse(Conflict):
    """The node's subtree still has active people, rooms, open matters or future sessions (409)."""

    code = "node_in_use"


def require_current(node: Node, field: str = "node_id") -> None:
    """Raise NodeRetired when NODE is retired."""
    if node.retired_at is not None:
        raise NodeRetired("admin_org.error.node_retired", field=field, name=node.name)


def child_level(parent: Node, kind: str) -> str:
    """The level of a new child of PARENT: a department sits at its region's level, a region one level down."""
    if kind == NodeKind.department.value:
        return parent.level.value
    below = LEVELS.index(parent.level) + 1
    return LEVELS[below].value if below < len(LEVELS) else parent.level.value  # create_node refuses it


def add_child(*, db: Session, parent: Node, code: str, name: str, kind: str = "region",
              actor_id: int | None = None) -> Node:
    """A new region or department under a current PARENT, at the level that fits."""
    require_current(parent, "parent_id")
    return create_node(db=db, code=code, name=name, level=child_level(parent, kind), kind=kind,
                                   parent_id=parent.id, actor_id=actor_id)


def rename_node(*, db: Session, node: Node, name: str, actor_id: int | None = None) -> Node:
    """Give NODE a new name."""
    require_current(node)
    new_name = clean_name(name)
    if new_name == node.name:
        return node
    old, node.name = node.name, new_name
    db.flush()
    audit.record(db=db, action="node.renamed", entity_type="node", entity_id=node.id, actor_id=actor_id,
                 data={"from": old, "to": new_name})
    return node


def _rewrite(column: InstrumentedAttribute[Any], old: str, new: str, *, db: Session) -> int:
    """Replace the prefix OLD by NEW in COLUMN wherever it starts with OLD; the rows changed."""
    table = column.class_.__table__
    target = table.c[column.key]
    tail = func.substr(target, len(old) + 1)
    result = db.execute(update(table).where(target.startswith(old, autoescape=True))
                        .values({target: literal(new) + tail}).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def move_node(*, db: Session, node: Node, parent: Node, actor_id: int | None = None) -> Node:
    """Put NODE (with its subtree) under PARENT, whose level must fit, rewriting every copied path."""
    require_current(node)
    require_current(parent, "parent_id")
    if node.parent_id is None:
        raise Invalid("error.province_has_parent", field="parent_id")
    if parent.path.startswith(node.path):
        raise Invalid("admin_org.error.move_into_own_subtree", field="parent_id")
    if parent.id == node.parent_id:
        return node
    _check_parent(node.level, node.kind, parent)
    old_path, new_path = node.path, f"{parent.path}{node.id}/"
    if len(new_path) + _deepest_tail(old_path, db=db) > 255:
        raise Invalid("admin_org.error.tree_too_deep", field="parent_id")
    old_parent = node.parent_id
    db.flush()
    changed = {f"{c.class_.__tablename__}.{c.key}": _rewrite(c, old_path, new_path, db=db) for c in PATH_COPIES}
    node.parent_id = parent.id
    db.flush()
    db.expire_all()  # the bulk updates changed loaded rows behind the identity map
    audit.record(db=db, action="node.moved", entity_type="node", entity_id=node.id, actor_id=actor_id,
                 data={"from_parent_id": old_parent, "to_parent_id": parent.id, "from_path": old_path,
                       "to_path": new_path, "rows": changed})
    return node


def _deepest_tail(path: str, *, db: Session) -> int:
    """How much longer than PATH the longest path in its subtree is."""
    longest = db.scalar(select(func.max(func.length(Node.path))).where(Node.path.startswith(path, autoescape=True)))
    return int(longest or len(path)) - len(path)


def blockers(*, db: Session, node: Node, at: datetime | None = None) -> list[str]:
    """What keeps NODE's subtree from being retired: people, rooms, matters, sessions (catalog keys)."""
    at = at or now()
    prefix = node.path
    under = Node.path.startswith(prefix, autoescape=True)
    checks: list[tuple[str, ColumnElement[bool]]] = [
        ("admin_org.blocker.people", exists(select(Person.id).join(Node, Person.node_id == Node.id)
                                            .where(under, Person.active.is_(True)))),
        ("admin_org.blocker.rooms", exists(select(Room.id).join(Node, Room.node_id == Node.id)
                                           .where(under, Room.active.is_(True)))),
        ("admin_org.blocker.matters", exists(select(Matter.id).where(
            Matter.handling_path.startswith(prefix, autoescape=True), Matter.state.notin_(CLOSED_MATTER)))),
        ("admin_org.blocker.sessions", exists(select(ReceptionSession.id).where(
            ReceptionSession.state.in_(UPCOMING), ReceptionSession.ends_at > at,
            or_(ReceptionSession.node_path.startswith(prefix, autoescape=True),
                ReceptionSession.id.in_(select(Participant.session_id).where(
                    Participant.node_path.startswith(prefix, autoescape=True))))))),
    ]
    return [key for key, condition in checks if db.scalar(select(condition))]


def retire_node(*, db: Session, node: Node, actor_id: int | None = None, at: datetime | None = None) -> Node:
    """Retire NODE and its subtree; refused (409 node_in_use) while anything active remains under it."""
    require_current(node)
    if node.parent_id is None:
        raise Invalid("admin_org.error.retire_root", field="node_id")
    at = at or now()
    found = blockers(db=db, node=node, at=at)
    if found:
        raise NodeInUse("admin_org.error.node_in_use", field="node_id", name=node.name, what=Msg(found[0]))
    result = db.execute(update(Node).where(Node.path.startswith(node.path, autoescape=True), Node.retired_at.is_(None))
                        .values(retired_at=at).execution_options(synchronize_session=False))
    db.expire_all()
    audit.record(db=db, action="node.retired", entity_type="node", entity_id=node.id, actor_id=actor_id,
                 data={"path": node.path, "nodes": int(result.rowcount or 0)})  # type: ignore[attr-defined]
    return node
