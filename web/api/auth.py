"""Sign-in for API clients: password → bearer token."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vreception.auth import accounts, signins, tokens
from vreception.auth.access import require
from vreception.errors import DomainError, NotFound
from vreception.models import Person, Role, SignIn
from web.deps import API_TOKEN, ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppSettings, client_address

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class UserOut(BaseModel):
    id: int
    name: str
    roles: list[str]
    node_id: int


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut
    password_change_required: bool = Field(
        default=False, description="true after an administrator's reset: until POST /auth/password changes it, "
                                   "this token reaches only /auth/password, /auth/me and /auth/logout (others: 403 "
                                   "password_change_required)")


class PasswordIn(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


@router.post("/auth/login", response_model=LoginOut,
             responses=responses(401, 422, 423, 429, s401="bad_credentials", s423="account_locked"))
def login(body: LoginIn, request: Request, db: DbSession, settings: AppSettings) -> LoginOut:
    """Exchange a username and password for a bearer token (throttled per client; accounts lock after failures).

    After an administrator's password reset the answer is still a token, with `password_change_required: true`:
    until the temporary password is changed with POST /auth/password (whose answer carries a fresh, unrestricted
    token), every other route but /auth/me and /auth/logout answers 403 `password_change_required`."""
    try:
        person, opened = signins.sign_in(db=db, username=body.username, password=body.password, via="api",
                                         client=client_address(request),
                                         ttl=timedelta(minutes=settings.token_ttl_minutes),
                                         attempts=request.app.state.login_attempts,
                                         lock_after=settings.login_failures_before_lock)
    except DomainError:
        db.commit()  # the failure count and its audit event are kept though the answer is an error
        raise
    return _token_for(request, person, opened)


def _token_for(request: Request, person: Person, opened: SignIn) -> LoginOut:
    token, expires = tokens.issue(request.app.state.secret, subject=str(person.id), purpose=API_TOKEN,
                                  ttl=opened.expires_at - opened.created_at, jti=opened.id)
    return LoginOut(access_token=token, expires_at=expires,
                    user=UserOut(id=person.id, name=person.name, roles=person.role_names, node_id=person.node_id),
                    password_change_required=person.must_change_password)


@router.post("/auth/logout", status_code=204, responses=responses(401))
def logout(request: Request, principal: ApiPrincipal, db: DbSession) -> None:
    """End this token's sign-in: the token is refused from now on."""
    claims = tokens.read(request.app.state.secret, request.headers["authorization"].partition(" ")[2].strip(),
                         purpose=API_TOKEN)
    signins.sign_out(db=db, sign_in_id=claims["jti"], actor_id=principal.person_id)


@router.post("/auth/password", response_model=LoginOut,
             responses=responses(401, 422, s422="invalid, password_wrong, weak_password, password_unchanged"))
def change_password(body: PasswordIn, request: Request, principal: ApiPrincipal, db: DbSession,
                    settings: AppSettings) -> LoginOut:
    """Change the caller's own password: every page session, API token and calendar feed of theirs ends; the answer
    carries a fresh token (a wrong current password counts toward the account's lock)."""
    client = client_address(request)
    try:
        person = accounts.change_password(db=db, person_id=principal.person_id, current=body.current_password,
                                          new=body.new_password, client=client,
                                          lock_after=settings.login_failures_before_lock)
    except accounts.WrongPassword:
        db.commit()  # the failure counts, though the answer is an error
        raise
    opened = signins.open_for(person, db=db, via="api", client=client, ttl=timedelta(minutes=settings.token_ttl_minutes))
    return _token_for(request, person, opened)


def _person_administered(principal: ApiPrincipal, person_id: int, *, db: DbSession) -> Person:
    """The person, if an administrator over their node asks (404 for no such person)."""
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound("error.person_not_found", id=person_id)
    require(principal, person.node, [Role.admin])
    return person


@router.post("/people/{person_id}/unlock", status_code=204, responses=responses(403, 404))
def unlock(person_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """Unlock an account locked after repeated failed sign-ins (administrators over the person's node)."""
    signins.unlock(db=db, person=_person_administered(principal, person_id, db=db), actor_id=principal.person_id)


@router.post("/people/{person_id}/deactivate", status_code=204, responses=responses(403, 404, 409))
def deactivate(person_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """Stop a person from signing in; every page session, API token and calendar feed of theirs ends at once."""
    accounts.deactivate(db=db, person=_person_administered(principal, person_id, db=db), actor_id=principal.person_id)


@router.post("/people/{person_id}/reactivate", status_code=204, responses=responses(403, 404))
def reactivate(person_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """Let a deactivated person sign in again (what they had open stays ended)."""
    accounts.reactivate(db=db, person=_person_administered(principal, person_id, db=db), actor_id=principal.person_id)


@router.get("/auth/me", response_model=UserOut)
def me(principal: ApiPrincipal) -> UserOut:
    """The caller."""
    return UserOut(id=principal.person_id, name=principal.name, roles=principal.roles, node_id=principal.node_id)
