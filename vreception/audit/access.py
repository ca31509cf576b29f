"""Who may browse and verify the audit log.

An event carries no node of its own: it is placed at its actor's node (people.node_id). Coordinators see the
events of the people of their subtree (they answer for that office's work); administrators see theirs too, and
only an administrator over a root node sees the events no person made (jobs, the installation).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, or_
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, load_node, require, require_role, subtree_filter
from vreception.models import AuditEvent, Node, Role

READERS = (Role.coordinator,)  # an admin counts as every role


def require_reader(principal: Principal) -> None:
    """Forbidden unless the principal coordinates or administers somewhere."""
    require_role(principal, READERS)


def require_verifier(principal: Principal) -> None:
    """Forbidden unless the principal is an administrator: a verify writes the chain's checkpoint."""
    require_role(principal, ())


def _over_everything(principal: Principal) -> bool:
    # A root's path is "/<id>/": its admin stands over the whole installation.
    return any(s.role == Role.admin and s.path.count("/") == 2 for s in principal.scopes)


def visible(principal: Principal, node_path: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """The SQL condition for the events the principal may see (NODE_PATH: the actor's node's path)."""
    by_person = and_(AuditEvent.actor_id.is_not(None), subtree_filter(principal, node_path, READERS))
    return or_(by_person, AuditEvent.actor_id.is_(None)) if _over_everything(principal) else or_(by_person, false())


def node_filter(principal: Principal, node_id: int, *, db: Session) -> Node:
    """A node to filter by: it must lie in the principal's own subtrees (403), and exist (404)."""
    node = load_node(node_id, db=db)
    require(principal, node, READERS)
    return node
