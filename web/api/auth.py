"""Sign-in for API clients: password → bearer token."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vreception import audit
from vreception.auth import tokens
from vreception.people import authenticate
from web.deps import API_TOKEN, ApiPrincipal, DbSession
from web.settings import AppSettings

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


@router.post("/auth/login", response_model=LoginOut, responses={401: {"description": "bad_credentials"}})
def login(body: LoginIn, request: Request, db: DbSession, settings: AppSettings) -> LoginOut:
    """Exchange a username and password for a bearer token."""
    person = authenticate(db, username=body.username, password=body.password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token, expires = tokens.issue(request.app.state.secret, subject=str(person.id), purpose=API_TOKEN, ttl=ttl)
    audit.record(db, action="auth.login", entity_type="person", entity_id=person.id, actor_id=person.id,
                 data={"via": "api"})
    return LoginOut(access_token=token, expires_at=expires,
                    user=UserOut(id=person.id, name=person.name, roles=person.role_names, node_id=person.node_id))


@router.get("/auth/me", response_model=UserOut)
def me(principal: ApiPrincipal) -> UserOut:
    """The caller."""
    return UserOut(id=principal.person_id, name=principal.name, roles=principal.roles, node_id=principal.node_id)
