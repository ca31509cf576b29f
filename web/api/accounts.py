"""API: administrators manage accounts: edit, roles, password reset, lock, open sign-ins (each act audited)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from vreception.auth.access import Principal
from vreception.paging import Page
from vreception.people import access, admin, queries
from vreception.people.views import (
    AssignmentOut,
    PersonDetail,
    SignInRow,
    TemporaryPasswordOut,
    assignment_out,
    person_detail,
)
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses

router = APIRouter(tags=["accounts"])


class PersonPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    node_id: int | None = None


class RoleIn(BaseModel):
    role: str = Field(max_length=32)
    node_id: int | None = Field(default=None, description="the root of the role's subtree; the person's node if "
                                                          "omitted")
    room_id: int | None = Field(default=None, description="the room a kiosk account stands for (role room only)")


class LockOut(BaseModel):
    person_id: int
    ended_sign_ins: int


def _check_role_target(principal: Principal, person_node: int, body: RoleIn, *, db: DbSession) -> None:
    """The role's node (and room) must lie in the caller's subtree."""
    access.require_node(principal, body.node_id if body.node_id is not None else person_node, db=db)
    if body.room_id is not None:
        access.require_room(principal, body.room_id, db=db)


@router.patch("/people/{person_id}", response_model=PersonDetail,
              responses=responses(403, 404, 422, s404="not_found, person_not_found, node_not_found"))
def edit_person(person_id: int, body: PersonPatch, principal: ApiPrincipal, db: DbSession) -> PersonDetail:
    """Change a person's name, title or node (a new node must lie in the caller's subtree too)."""
    person = access.load_manageable(principal, person_id, db=db)
    node_id = body.node_id if body.node_id is not None else person.node_id
    if node_id != person.node_id:
        access.require_node(principal, node_id, db=db)
    admin.edit_person(db=db, person=person, name=body.name if body.name is not None else person.name,
                      title=body.title if body.title is not None else person.title, node_id=node_id,
                      actor_id=principal.person_id)
    return person_detail(person)


@router.post("/people/{person_id}/roles", response_model=AssignmentOut, status_code=201,
             responses=responses(403, 404, 409, 422, s409="role_taken",
                                 s422="invalid, role_unknown, room_required"))
def add_role(person_id: int, body: RoleIn, principal: ApiPrincipal, db: DbSession) -> AssignmentOut:
    """Give a person a role over a node subtree of the caller's (the room role names its room)."""
    person = access.load_manageable(principal, person_id, db=db)
    _check_role_target(principal, person.node_id, body, db=db)
    assignment = admin.add_role(db=db, person=person, role=body.role, node_id=body.node_id, room_id=body.room_id,
                                actor_id=principal.person_id)
    return assignment_out(assignment)


@router.delete("/people/{person_id}/roles/{assignment_id}", status_code=204,
               responses=responses(403, 404, 409, s404="person_not_found, assignment_not_found",
                                   s409="remove_own_admin"))
def remove_role(person_id: int, assignment_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """Take a role from a person; their open sign-ins end (an administrator keeps their own admin role)."""
    person = access.load_manageable(principal, person_id, db=db)
    admin.remove_role(db=db, person=person, assignment_id=assignment_id, actor_id=principal.person_id)


@router.post("/people/{person_id}/password-reset", response_model=TemporaryPasswordOut,
             responses=responses(403, 404, 409, s409="no_account, own_account"))
def reset_password(person_id: int, principal: ApiPrincipal, db: DbSession) -> TemporaryPasswordOut:
    """Give a person a temporary password, answered this once: every sign-in of theirs ends, a lock lifts, and the
    next sign-in must change it (token logins answer `password_change_required: true`, pages lead to
    /account/password)."""
    person = access.load_manageable(principal, person_id, db=db)
    password = admin.reset_password(db=db, person=person, actor_id=principal.person_id)
    return TemporaryPasswordOut(person_id=person.id, username=person.username, temporary_password=password)


@router.post("/people/{person_id}/lock", response_model=LockOut,
             responses=responses(403, 404, 409, s409="no_account, own_account, already_locked"))
def lock(person_id: int, principal: ApiPrincipal, db: DbSession) -> LockOut:
    """Lock an account until POST /people/{id}/unlock: every sign-in of theirs ends at once."""
    person = access.load_manageable(principal, person_id, db=db)
    ended = admin.lock(db=db, person=person, actor_id=principal.person_id)
    return LockOut(person_id=person.id, ended_sign_ins=ended)


@router.get("/sign-ins", response_model=Page[SignInRow],
            responses=responses(403, 404, 422, s404="node_not_found"))
def list_sign_ins(principal: ApiPrincipal, db: DbSession, person_id: int | None = None,
                  node_id: int | None = None, limit: int | None = Query(default=None),
                  cursor: str | None = Query(default=None, max_length=12)) -> Page[SignInRow]:
    """Open sign-ins (page sessions and API tokens neither revoked nor expired) of the people the caller manages,
    by person or node subtree, newest first."""
    return queries.open_sign_ins(db=db, principal=principal, person_id=person_id, node_id=node_id, limit=limit,
                                 cursor=cursor)


@router.post("/sign-ins/{sign_in_id}/revoke", status_code=204,
             responses=responses(403, 404, 409, s404="sign_in_not_found", s409="sign_in_closed"))
def revoke_sign_in(sign_in_id: str, principal: ApiPrincipal, db: DbSession) -> None:
    """End one open sign-in of a person the caller manages: that token or browser is refused from now on."""
    opened = access.load_sign_in(principal, sign_in_id, db=db)
    admin.revoke_sign_in(db=db, sign_in=opened, actor_id=principal.person_id)
