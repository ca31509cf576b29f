"""Pages: administrators manage people and accounts (roles, password resets, locks, retirement, open sign-ins)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from vreception.auth import accounts, signins, tokens
from vreception.auth.access import Principal
from vreception.errors import Unauthenticated
from vreception.models import ROLES, Person
from vreception.people import access, admin, queries
from vreception.people.views import person_detail
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page
from web.settings import AppSettings

router = APIRouter()
PAGE_SIZE = 50
# The temporary password rides to the page after the 303 in a short-lived cookie of that page only, read once.
TEMPORARY_COOKIE = "vr_temporary_password"
TEMPORARY_PURPOSE = "temporary_password"
TEMPORARY_TTL = timedelta(minutes=5)


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _choices(principal: Principal, *, db: DbSession) -> dict:
    return {"nodes": queries.managed_nodes(db=db, principal=principal),
            "rooms": queries.managed_rooms(db=db, principal=principal), "roles": ROLES}


@router.get("/admin/people")
def people_list(request: Request, principal: User, db: DbSession, q: str = "", node_id: str = "", role: str = "",
                cursor: str | None = None):
    """People the administrator manages: by name or username, node subtree and role, a page at a time."""
    access.require_manager(principal)
    node = _number(node_id)
    found = queries.search_people(db=db, principal=principal, text=q[:100], node_id=node,
                                  role=role if role in ROLES else None, limit=PAGE_SIZE, cursor=cursor)
    return page(request, "admin_people.html", principal, people=found.items, total=found.total,
                next_cursor=found.next, q=q[:100], node_id=node, role=role if role in ROLES else "",
                **_choices(principal, db=db))


@router.get("/admin/people/new")
def new_person_page(request: Request, principal: User, db: DbSession):
    """The form for a new account (a temporary password is made for it)."""
    access.require_manager(principal)
    return page(request, "admin_people_new.html", principal, form={}, **_choices(principal, db=db))


@router.post("/admin/people/new")
def new_person(request: Request, form: forms.Posted, principal: User, db: DbSession, settings: AppSettings):
    """Create the account and its first role, then show its temporary password once on its page."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    access.require_manager(principal)
    node_id, role = _number(forms.text(form, "node_id", 12)), forms.text(form, "role", 32)
    scope_id, room_id = _number(forms.text(form, "scope_node_id", 12)), _number(forms.text(form, "room_id", 12))

    def create() -> tuple[Person, str]:
        access.require_node(principal, node_id or 0, db=db)
        if role and scope_id is not None:
            access.require_node(principal, scope_id, "scope_node_id", db=db)
        if role == "room" and room_id is not None:
            access.require_room(principal, room_id, db=db)
        return admin.create_account(db=db, name=forms.text(form, "name", 200), title=forms.text(form, "title", 200),
                                    node_id=node_id or 0, username=forms.text(form, "username", 64), role=role or None,
                                    role_node_id=scope_id, room_id=room_id if role == "room" else None,
                                    actor_id=principal.person_id)

    made, error = attempt(create, db=db)
    if error is not None or made is None:
        return page(request, "admin_people_new.html", principal, status_code=error.status if error else 422,
                    error=message(request, error) if error else "", form=dict(form), **_choices(principal, db=db))
    person, password = made
    return _with_temporary(request, settings, principal, person.id, password)


def _with_temporary(request: Request, settings, principal: Principal, person_id: int, password: str) -> Response:
    token, _ = tokens.issue(request.app.state.secret, subject=str(person_id), purpose=TEMPORARY_PURPOSE,
                            ttl=TEMPORARY_TTL, by=principal.person_id, password=password)
    response = RedirectResponse(f"/admin/people/{person_id}", status_code=303)
    response.set_cookie(TEMPORARY_COOKIE, token, max_age=int(TEMPORARY_TTL.total_seconds()),
                        path=f"/admin/people/{person_id}", httponly=True, samesite="strict",
                        secure=settings.cookie_secure)
    return response


def _temporary_of(request: Request, principal: Principal, person_id: int) -> str | None:
    cookie = request.cookies.get(TEMPORARY_COOKIE)
    if not cookie:
        return None
    try:
        claims = tokens.read(request.app.state.secret, cookie, purpose=TEMPORARY_PURPOSE)
    except Unauthenticated:
        return None
    if claims.get("sub") != str(person_id) or claims.get("by") != principal.person_id:
        return None
    return str(claims.get("password", ""))


def _detail(request: Request, principal: Principal, person: Person, *, db: DbSession, status_code: int = 200,
            error: str = "", temporary: str | None = None) -> Response:
    sign_ins = queries.open_sign_ins(db=db, principal=principal, person_id=person.id, limit=100)
    response = page(request, "admin_people_detail.html", principal, status_code=status_code, person=person_detail(person),
                    sign_ins=sign_ins.items, error=error, temporary=temporary, **_choices(principal, db=db))
    return response


@router.get("/admin/people/{person_id}")
def person_page(person_id: int, request: Request, principal: User, db: DbSession):
    """One person: edit, roles, password reset (its temporary password shown once), lock, retire, open sign-ins."""
    person = access.load_manageable(principal, person_id, db=db)
    temporary = _temporary_of(request, principal, person.id)
    response = _detail(request, principal, person, db=db, temporary=temporary)
    if request.cookies.get(TEMPORARY_COOKIE):
        response.delete_cookie(TEMPORARY_COOKIE, path=f"/admin/people/{person_id}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _act(request: Request, principal: Principal, person: Person, change, *, db: DbSession) -> Response:
    """Run CHANGE; back to the person's page (303), or the page again with the error in Chinese."""
    _, error = attempt(change, db=db)
    if error is not None:
        db.refresh(person)
        return _detail(request, principal, person, db=db, status_code=error.status, error=message(request, error))
    return RedirectResponse(f"/admin/people/{person.id}", status_code=303)


@router.post("/admin/people/{person_id}")
def edit_person(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Save name, title and node."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    node_id = _number(forms.text(form, "node_id", 12)) or 0

    def change() -> None:
        if node_id != person.node_id:
            access.require_node(principal, node_id, db=db)
        admin.edit_person(db=db, person=person, name=forms.text(form, "name", 200),
                          title=forms.text(form, "title", 200), node_id=node_id, actor_id=principal.person_id)

    return _act(request, principal, person, change, db=db)


@router.post("/admin/people/{person_id}/roles")
def add_role(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Give a role over a node subtree (a kiosk account names its room)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    role = forms.text(form, "role", 32)
    node_id, room_id = _number(forms.text(form, "scope_node_id", 12)), _number(forms.text(form, "room_id", 12))

    def change() -> None:
        access.require_node(principal, node_id if node_id is not None else person.node_id, "scope_node_id", db=db)
        if role == "room" and room_id is not None:
            access.require_room(principal, room_id, db=db)
        admin.add_role(db=db, person=person, role=role, node_id=node_id,
                       room_id=room_id if role == "room" else None, actor_id=principal.person_id)

    return _act(request, principal, person, change, db=db)


@router.post("/admin/people/{person_id}/roles/{assignment_id}/remove")
def remove_role(person_id: int, assignment_id: int, request: Request, form: forms.Posted, principal: User,
                db: DbSession):
    """Take one role away (the person's open sign-ins end)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    return _act(request, principal, person, lambda: admin.remove_role(
        db=db, person=person, assignment_id=assignment_id, actor_id=principal.person_id), db=db)


@router.post("/admin/people/{person_id}/password-reset")
def reset_password(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
                   settings: AppSettings):
    """Make a temporary password, shown once on the person's page; it must be changed at the next sign-in."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    password, error = attempt(lambda: admin.reset_password(db=db, person=person, actor_id=principal.person_id), db=db)
    if error is not None or password is None:
        db.refresh(person)
        return _detail(request, principal, person, db=db, status_code=error.status if error else 422,
                       error=message(request, error) if error else "")
    return _with_temporary(request, settings, principal, person.id, password)


@router.post("/admin/people/{person_id}/lock")
def lock(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Lock the account (every sign-in ends) until unlocked."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    return _act(request, principal, person, lambda: admin.lock(db=db, person=person, actor_id=principal.person_id), db=db)


@router.post("/admin/people/{person_id}/unlock")
def unlock(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Unlock the account."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    return _act(request, principal, person, lambda: signins.unlock(db=db, person=person, actor_id=principal.person_id),
                db=db)


@router.post("/admin/people/{person_id}/deactivate")
def retire(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Retire the person: no more sign-ins, and every open one ends."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    return _act(request, principal, person, lambda: accounts.deactivate(db=db, person=person, actor_id=principal.person_id),
                db=db)


@router.post("/admin/people/{person_id}/reactivate")
def reactivate(person_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Let a retired person sign in again."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    person = access.load_manageable(principal, person_id, db=db)
    return _act(request, principal, person, lambda: accounts.reactivate(db=db, person=person, actor_id=principal.person_id),
                db=db)


@router.get("/admin/sign-ins")
def sign_ins_page(request: Request, principal: User, db: DbSession, node_id: str = "", cursor: str | None = None):
    """Open sign-ins of the people the administrator manages, newest first."""
    node = _number(node_id)
    found = queries.open_sign_ins(db=db, principal=principal, node_id=node, limit=PAGE_SIZE, cursor=cursor)
    return page(request, "admin_people_sign_ins.html", principal, sign_ins=found.items, total=found.total,
                next_cursor=found.next, node_id=node, nodes=queries.managed_nodes(db=db, principal=principal))


@router.post("/admin/sign-ins/{sign_in_id}/revoke")
def revoke_sign_in(sign_in_id: str, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """End one open sign-in; back to the person's page or to the list of sign-ins."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    opened = access.load_sign_in(principal, sign_in_id, db=db)
    back = f"/admin/people/{opened.person_id}" if forms.text(form, "back", 20) == "person" else "/admin/sign-ins"
    _, error = attempt(lambda: admin.revoke_sign_in(db=db, sign_in=opened, actor_id=principal.person_id), db=db)
    if error is not None:
        return page(request, "error.html", principal, status_code=error.status, detail=message(request, error))
    return RedirectResponse(back, status_code=303)
