"""Pages: administrators keep the organisation tree; administrators and coordinators keep their rooms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from scheduling import room_admin
from vreception.auth.access import Principal
from vreception.clock import now
from vreception.errors import Invalid
from vreception.models import Room
from vreception.org import access, admin, directory
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page, policy

router = APIRouter()
WEEKDAYS = range(7)


def _number(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else 0


# ---- the tree ------------------------------------------------------------------------------------------------------

def _tree(request: Request, principal: Principal, *, db: DbSession, retired: bool = False, status_code: int = 200,
          error: str = "", failed_node: int | None = None) -> Response:
    branches = directory.admin_tree(principal, db=db, include_retired=retired)
    parents = [b.node for b in directory.flatten(branches) if b.node.retired_at is None and b.node.kind.value == "region"]
    rooms: dict[int, list[Room]] = {}
    for room in directory.kept_rooms(principal, db=db):
        rooms.setdefault(room.node_id, []).append(room)
    return page(request, "admin_org.html", principal, status_code=status_code, branches=branches, parents=parents,
                rooms=rooms, retired=retired, error=error, failed_node=failed_node)


@router.get("/admin/org")
def org_page(request: Request, principal: User, db: DbSession, retired: bool = False):
    """The tree the administrator keeps, with a form per node: add below, rename, move, retire."""
    access.require_admin(principal)
    return _tree(request, principal, db=db, retired=retired)


def _on_tree(request: Request, principal: Principal, node_id: int | None, change: Callable[[], Any],
             *, db: DbSession) -> Response:
    """Run CHANGE; back to the tree (303), or the tree again with the error in Chinese."""
    _, error = attempt(change, db=db)
    if error is not None:
        return _tree(request, principal, db=db, status_code=error.status, error=message(request, error),
                     failed_node=node_id)
    return RedirectResponse(f"/admin/org#node-{node_id}" if node_id else "/admin/org", status_code=303)


@router.post("/admin/org/nodes")
def add_node(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Add a region or department below a node."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    parent_id = _number(forms.text(form, "parent_id", 12))
    made: list[int] = []

    def change() -> None:
        parent = access.node_for_admin(principal, parent_id, "parent_id", db=db)
        node = admin.add_child(db=db, parent=parent, code=forms.text(form, "code", 32),
                               name=forms.text(form, "name", 200), kind=forms.text(form, "kind", 16) or "region",
                               actor_id=principal.person_id)
        made.append(node.id)

    response = _on_tree(request, principal, parent_id, change, db=db)
    if made and response.status_code == 303:
        response.headers["Location"] = f"/admin/org#node-{made[0]}"
    return response


@router.post("/admin/org/nodes/{node_id}/rename")
def rename_node(node_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Rename a node."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    node = access.node_for_admin(principal, node_id, db=db)
    return _on_tree(request, principal, node_id, lambda: admin.rename_node(
        db=db, node=node, name=forms.text(form, "name", 200), actor_id=principal.person_id), db=db)


@router.post("/admin/org/nodes/{node_id}/move")
def move_node(node_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Move a node (and its subtree) under another parent."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    node = access.node_for_admin(principal, node_id, db=db)
    parent_id = _number(forms.text(form, "parent_id", 12))

    def change() -> None:
        if node.parent is not None:
            access.node_for_admin(principal, node.parent.id, db=db)
        parent = access.node_for_admin(principal, parent_id, "parent_id", db=db)
        admin.move_node(db=db, node=node, parent=parent, actor_id=principal.person_id)

    return _on_tree(request, principal, node_id, change, db=db)


@router.post("/admin/org/nodes/{node_id}/retire")
def retire_node(node_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Retire a node and its subtree (refused while anything active remains under it)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    node = access.node_for_admin(principal, node_id, db=db)
    return _on_tree(request, principal, node_id, lambda: admin.retire_node(db=db, node=node, actor_id=principal.person_id),
                    db=db)


# ---- rooms ---------------------------------------------------------------------------------------------------------

def _rooms(request: Request, principal: Principal, *, db: DbSession, node_id: int | None = None,
           status_code: int = 200, error: str = "", form: dict | None = None) -> Response:
    is_admin = any(s.role in access.ADMINS for s in principal.scopes)
    return page(request, "admin_org_rooms.html", principal, status_code=status_code,
                rooms=directory.kept_rooms(principal, db=db, node_id=node_id), node_id=node_id,
                nodes=directory.admin_nodes(principal, db=db) if is_admin else [], is_admin=is_admin, error=error,
                form=form or {})


@router.get("/admin/rooms")
def rooms_page(request: Request, principal: User, db: DbSession, node_id: str = ""):
    """Rooms in the reader's subtrees, active or not (administrators and coordinators)."""
    access.require_keeper(principal)
    return _rooms(request, principal, db=db, node_id=_number(node_id) or None)


@router.post("/admin/rooms")
def add_room(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Add a video room at a node the administrator keeps."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    access.require_admin(principal)
    node_id = _number(forms.text(form, "node_id", 12))

    def change() -> Room:
        node = access.node_for_admin(principal, node_id, db=db)
        return room_admin.add_room(db=db, node=node, name=forms.text(form, "name", 200),
                                   actor_id=principal.person_id)

    room, error = attempt(change, db=db)
    if error is not None or room is None:
        return _rooms(request, principal, db=db, status_code=error.status if error else 422,
                      error=message(request, error) if error else "", form=dict(form))
    return RedirectResponse(f"/admin/rooms/{room.id}", status_code=303)


def _hours_by_day(room: Room, *, db: DbSession) -> dict[int, tuple[str, str]]:
    """The room's hours per weekday as the form shows them (a row for every working day fills each day)."""
    out: dict[int, tuple[str, str]] = {}
    for row in room_admin.hours_of(room, db=db):
        for day in WEEKDAYS if row.weekday is None else (row.weekday,):
            out.setdefault(day, (row.opens.strftime("%H:%M"), row.closes.strftime("%H:%M")))
    return out


def _room_page(request: Request, principal: Principal, room: Room, *, db: DbSession, status_code: int = 200,
               error: str = "") -> Response:
    is_admin = any(s.role in access.ADMINS and room.node.path.startswith(s.path) for s in principal.scopes)
    return page(request, "admin_org_room.html", principal, status_code=status_code, room=room, is_admin=is_admin,
                hours=_hours_by_day(room, db=db), weekdays=WEEKDAYS, error=error,
                closures=room_admin.closures_of(room, db=db, since=now()))


@router.get("/admin/rooms/{room_id}")
def room_page(room_id: int, request: Request, principal: User, db: DbSession):
    """One room: its name and state, weekly hours and closures."""
    return _room_page(request, principal, access.room_for_keeper(principal, room_id, db=db), db=db)


def _on_room(request: Request, principal: Principal, room: Room, change: Callable[[], Any], *, db: DbSession) -> Response:
    _, error = attempt(change, db=db)
    if error is not None:
        db.refresh(room)
        return _room_page(request, principal, room, db=db, status_code=error.status, error=message(request, error))
    return RedirectResponse(f"/admin/rooms/{room.id}", status_code=303)


@router.post("/admin/rooms/{room_id}")
def rename_room(room_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Rename the room (administrators)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    room = access.room_for_admin(principal, room_id, db=db)
    return _on_room(request, principal, room, lambda: room_admin.rename_room(
        db=db, room=room, name=forms.text(form, "name", 200), actor_id=principal.person_id), db=db)


@router.post("/admin/rooms/{room_id}/active")
def set_room_active(room_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Deactivate the room, or bring it back (administrators)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    room = access.room_for_admin(principal, room_id, db=db)
    active = forms.text(form, "active", 8) == "1"
    return _on_room(request, principal, room, lambda: room_admin.set_active(
        db=db, room=room, active=active, actor_id=principal.person_id), db=db)


@router.post("/admin/rooms/{room_id}/hours")
def set_room_hours(room_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Save the weekly hours: one span per weekday, blank for closed."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    room = access.room_for_keeper(principal, room_id, db=db)

    def change() -> None:
        hours: list[tuple[int | None, time, time]] = []
        for day in WEEKDAYS:
            opens, closes = forms.clock_time(form, f"opens_{day}"), forms.clock_time(form, f"closes_{day}")
            if opens is None and closes is None:
                continue
            if opens is None or closes is None:
                raise Invalid("admin_org.error.time_invalid", field=f"opens_{day}")
            hours.append((day, opens, closes))
        room_admin.set_weekly_hours(db=db, room=room, hours=hours, actor_id=principal.person_id)

    return _on_room(request, principal, room, change, db=db)


@router.post("/admin/rooms/{room_id}/closures")
def add_closure(room_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Close the room for whole days with a reason."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    room = access.room_for_keeper(principal, room_id, db=db)

    def change() -> None:
        first, last = forms.day(form, "first"), forms.day(form, "last")
        if first is None or last is None:
            raise Invalid("admin_org.error.date_invalid", field="first" if first is None else "last")
        room_admin.close_days(db=db, room=room, policy=policy(request), first=first, last=last,
                              reason=forms.text(form, "reason", 200), actor_id=principal.person_id)

    return _on_room(request, principal, room, change, db=db)


@router.post("/admin/rooms/{room_id}/closures/{closure_id}/delete")
def remove_closure(room_id: int, closure_id: int, request: Request, form: forms.Posted, principal: User,
                   db: DbSession):
    """Lift a closure."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    room = access.room_for_keeper(principal, room_id, db=db)
    return _on_room(request, principal, room, lambda: room_admin.remove_closure(
        db=db, room=room, closure_id=closure_id, actor_id=principal.person_id), db=db)
