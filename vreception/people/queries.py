"""Reads for administrators: people they manage and open sign-ins, filtered in SQL before any LIMIT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from vreception.auth.access import Principal, subtree_filter
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.models import Node, Person, Role, RoleAssignment, Room, SignIn
from vreception.paging import Page, check_limit, count, offset_of, page_of
from vreception.people.access import MANAGERS, manageable, require_manager
from vreception.people.views import PersonRow, SignInRow, person_row, sign_in_row


def _subtree(node_id: int | None, *, db: Session) -> ColumnElement[bool] | None:
    if node_id is None:
        return None
    node = db.get(Node, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    return Node.path.startswith(node.path, autoescape=True)


def search_people(*, db: Session, principal: Principal, text: str = "", node_id: int | None = None,
                  role: str | None = None, active: bool | None = None, limit: int | None = None,
                  cursor: str | None = None) -> Page[PersonRow]:
    """The people the principal manages, by name or username, node subtree, role and state, by name."""
    require_manager(principal)
    query = (select(Person).join(Node, Person.node_id == Node.id).where(manageable(principal))
             .options(selectinload(Person.node)).order_by(Person.name, Person.id))
    text = (text or "").strip()[:100]
    if text:
        query = query.where(or_(Person.name.contains(text, autoescape=True),
                                Person.username.contains(text.lower(), autoescape=True)))
    within = _subtree(node_id, db=db)
    if within is not None:
        query = query.where(within)
    if role:
        try:
            parsed = Role(role)
        except ValueError:
            raise Invalid("error.role_unknown", field="role", role=role) from None
        query = query.where(Person.roles.any(RoleAssignment.role == parsed))
    if active is not None:
        query = query.where(Person.active.is_(active))
    return page_of(query, db=db, item=person_row, limit=limit, cursor=cursor)


def open_sign_ins(*, db: Session, principal: Principal, person_id: int | None = None, node_id: int | None = None,
                  limit: int | None = None, cursor: str | None = None) -> Page[SignInRow]:
    """Open sign-ins (not revoked, not expired) of the people the principal manages, newest first."""
    require_manager(principal)
    query = (select(SignIn, Person).join(Person, SignIn.person_id == Person.id)
             .join(Node, Person.node_id == Node.id)
             .where(manageable(principal), SignIn.revoked_at.is_(None), SignIn.expires_at > now())
             .order_by(SignIn.created_at.desc(), SignIn.id))
    if person_id is not None:
        query = query.where(SignIn.person_id == person_id)
    within = _subtree(node_id, db=db)
    if within is not None:
        query = query.where(within)
    return _page_of_rows(query, db=db, limit=limit, cursor=cursor)


def _page_of_rows(query: Any, *, db: Session, limit: int | None,
                  cursor: str | None) -> Page[SignInRow]:
    # paging.fetch takes scalars; a sign-in row needs its person beside it.
    size, offset = check_limit(limit), offset_of(cursor)
    total = count(query, db=db)
    rows = [(r[0], r[1]) for r in db.execute(query.limit(size).offset(offset))]
    following = offset + len(rows)
    return Page[SignInRow](items=[sign_in_row(r) for r in rows], total=total,
                           next=str(following) if rows and following < total else None)


MAX_NODES = 3000


def managed_nodes(*, db: Session, principal: Principal, limit: int = MAX_NODES) -> list[Node]:
    """The nodes the principal administers (for choosing a person's node or a role's scope), by code."""
    require_manager(principal)
    query = (select(Node).where(subtree_filter(principal, Node.path, MANAGERS))
             .order_by(Node.path, Node.code).limit(limit))
    return list(db.scalars(query))


def managed_rooms(*, db: Session, principal: Principal, limit: int = MAX_NODES) -> list[Room]:
    """The active video rooms at nodes the principal administers (for a kiosk account's room)."""
    require_manager(principal)
    query = (select(Room).join(Node, Room.node_id == Node.id)
             .where(subtree_filter(principal, Node.path, MANAGERS), Room.active.is_(True))
             .order_by(Node.path, Room.id).limit(limit))
    return list(db.scalars(query))
