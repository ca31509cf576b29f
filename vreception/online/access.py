"""Who may see and answer an online request: coordinators over the node whose queue it waits in."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception.auth.access import Principal, load_node, require, require_role
from vreception.errors import NotFound
from vreception.models import Role
from vreception.models.online import OnlineRequest

OFFICE = (Role.coordinator,)


def load_for_office(principal: Principal, request_id: int, *, db: Session) -> OnlineRequest:
    """The request if the principal coordinates over its queue's node: 403 for other roles, 404 for no such."""
    require_role(principal, OFFICE)
    request = db.get(OnlineRequest, request_id)
    if request is None:
        raise NotFound("online.error.not_found", id=request_id)
    require(principal, load_node(request.node_id, db=db), OFFICE)
    return request


def require_office_over(principal: Principal, node_id: int, *, db: Session) -> None:
    """Forbidden unless the principal coordinates over NODE_ID (where a draft is registered)."""
    require(principal, load_node(node_id, db=db), OFFICE)


def require_office_role(principal: Principal) -> None:
    """Forbidden unless the principal coordinates somewhere (the queue lists only their subtrees)."""
    require_role(principal, OFFICE)
