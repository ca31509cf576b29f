"""The organisation: nodes of the four levels, their departments and video rooms."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.errors import Conflict, Invalid, NotFound
from vreception.i18n import Msg
from vreception.models import LEVELS, Node, NodeKind, NodeLevel, Room

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$")
MAX_NAME = 100


def clean_name(name: str | None, field: str = "name") -> str:
    """A stripped, non-empty name of at most MAX_NAME characters."""
    name = (name or "").strip()
    if not name:
        raise Invalid("error.name_empty", field=field)
    if len(name) > MAX_NAME:
        raise Invalid("error.name_too_long", field=field, max=MAX_NAME)
    return name


def _parse_level(level: str) -> NodeLevel:
    try:
        return NodeLevel(level)
    except ValueError:
        raise Invalid("error.level_unknown", field="level", level=level) from None


def _parse_kind(kind: str) -> NodeKind:
    try:
        return NodeKind(kind)
    except ValueError:
        raise Invalid("error.kind_unknown", field="kind", kind=kind) from None


def _check_parent(level: NodeLevel, kind: NodeKind, parent: Node | None) -> None:
    """A region sits under the region one level up; a department under the region of its level."""
    if kind is NodeKind.region and level is NodeLevel.province:
        if parent is not None:
            raise Invalid("error.province_has_parent", field="parent_id")
        return
    if parent is None:
        raise Invalid("error.parent_required", field="parent_id")
    if parent.kind is not NodeKind.region:
        raise Invalid("error.parent_not_region", field="parent_id")
    expected: NodeLevel | None
    if kind is NodeKind.department:
        expected = parent.level
    else:
        below = LEVELS.index(parent.level) + 1
        expected = LEVELS[below] if below < len(LEVELS) else None
    if expected is not level:
        raise Invalid("error.level_mismatch", field="level", level=Msg(f"level.{level.value}"),
                      parent_level=Msg(f"level.{parent.level.value}"))


def create_node(
    *,
    db: Session,
    code: str,
    name: str,
    level: str,
    kind: str = "region",
    parent_id: int | None = None,
    actor_id: int | None = None,
) -> Node:
    """Add a node under PARENT_ID after checking its level, kind, code and name."""
    code = (code or "").strip()
    if not CODE_PATTERN.match(code):
        raise Invalid("error.code_invalid", field="code")
    name = clean_name(name)
    node_level, node_kind = _parse_level(level), _parse_kind(kind)
    parent = None
    if parent_id is not None:
        parent = db.get(Node, parent_id)
        if parent is None:
            raise NotFound("error.node_not_found", field="parent_id", id=parent_id)
    _check_parent(node_level, node_kind, parent)
    if db.scalar(select(Node.id).where(Node.code == code)) is not None:
        raise Conflict("error.code_taken", field="code", code=code)
    node = Node(code=code, name=name, level=node_level, kind=node_kind, parent_id=parent_id)
    db.add(node)
    db.flush()
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    db.flush()
    audit.record(db=db, action="node.created", entity_type="node", entity_id=node.id, actor_id=actor_id,
                 data={"code": code, "name": name, "level": node_level.value, "kind": node_kind.value, "parent_id": parent_id})
    return node


def create_room(*, db: Session, node_id: int, name: str, actor_id: int | None = None) -> Room:
    """Add a video room at a node."""
    node = db.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    room = Room(node_id=node_id, name=clean_name(name))
    db.add(room)
    db.flush()
    audit.record(db=db, action="room.created", entity_type="room", entity_id=room.id, actor_id=actor_id,
                 data={"node_id": node_id, "name": room.name})
    return room


def node_by_code(code: str, *, db: Session) -> Node:
    """A node by its administrative code."""
    node = db.scalar(select(Node).where(Node.code == code))
    if node is None:
        raise NotFound("error.node_code_not_found", field="node", code=code)
    return node


def list_nodes(*, db: Session, level: str | None = None, parent_id: int | None = None,
               within: ColumnElement[bool] | None = None) -> list[Node]:
    """Current (not retired) nodes filtered by level and parent, optionally restricted by a subtree condition."""
    query = select(Node).where(Node.retired_at.is_(None)).order_by(Node.code)
    if level:
        query = query.where(Node.level == _parse_level(level))
    if parent_id is not None:
        query = query.where(Node.parent_id == parent_id)
    if within is not None:
        query = query.where(within)
    return list(db.scalars(query))
