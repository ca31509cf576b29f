"""Who may pull the feed: coordinators and administrators of a province node (the feed is province-wide).

There is no integration role (vreception.models.Role); the provincial system signs in with an account of the
province's 信访局 (a coordinator there) or an administrator of the province, and receives the changes of matters
handled within that account's province subtrees, less any accusation against a unit the account works inside."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import Session

from vreception.auth.access import Principal
from vreception.cases.confidential import not_accused
from vreception.errors import Forbidden
from vreception.models import Node, NodeKind, NodeLevel, Role
from vreception.models.integration import IntegrationChange

PULLERS = (Role.coordinator, Role.admin)


def province_paths(principal: Principal, *, db: Session) -> list[str]:
    """The paths of the province regions where the principal coordinates or administers."""
    paths = []
    for scope in principal.scopes:
        if scope.role not in PULLERS:
            continue
        node = db.get(Node, scope.node_id)
        if node is not None and node.level is NodeLevel.province and node.kind is NodeKind.region:
            paths.append(scope.path)
    return paths


def require_puller(principal: Principal, *, db: Session) -> list[str]:
    """The province paths the principal pulls for, or Forbidden (403) if none."""
    paths = province_paths(principal, db=db)
    if not paths:
        raise Forbidden("integration.error.province_only")
    return paths


def visible(principal: Principal, paths: list[str]) -> ColumnElement[bool]:
    """The SQL condition on IntegrationChange (joined with Matter) for the changes the principal receives."""
    if not paths:
        return false()
    inside = or_(*[IntegrationChange.node_path.startswith(p, autoescape=True) for p in paths])
    return and_(inside, not_accused(principal))
