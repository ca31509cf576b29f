"""Request dependencies: the database session, the language, the signed-in principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from vreception.auth import signins, tokens
from vreception.auth.access import Principal, principal_for
from vreception.auth.password_policy import PasswordChangeRequired
from vreception.errors import Unauthenticated
from vreception.i18n import negotiate
from vreception.models import Person

API_TOKEN = "api"
PAGE_TOKEN = "page"
SESSION_COOKIE = "vr_session"
LANG_COOKIE = "vr_lang"
# Requests that only read: their transaction takes no write lock on SQLite.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Until a reset (temporary) password is changed, a sign-in reaches only these: change it, say who one is, leave.
WHILE_PASSWORD_CHANGE_REQUIRED = frozenset({"/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/auth/me",
                                            "/account/password", "/logout"})


async def _session(request: Request) -> AsyncIterator[Session]:
    # Opening a session does no I/O, so it happens here on the event loop. The commit runs in
    # a thread of its own, never one of the shared pool: a request holding a lock or a
    # connection never waits for a thread that requests waiting for that lock may hold.
    # scope="function" below: the commit happens before the response is sent, so a client
    # never sees success for a write that did not commit.
    db = request.app.state.db
    session = db.session(reads_only=request.method in SAFE_METHODS)
    try:
        yield session
    except BaseException:
        await _off_loop(db.finish, db=session, commit=False)
        raise
    await _off_loop(db.finish, db=session, commit=True)


async def _off_loop(finish, *, db: Session, commit: bool) -> None:
    """Run FINISH in a fresh worker thread, shielded so a cancelled request still ends its transaction."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(partial(finish, db=db, commit=commit), limiter=anyio.CapacityLimiter(1))


DbSession = Annotated[Session, Depends(_session, scope="function")]


def language(request: Request) -> str:
    """The user's language: ?lang=, then the cookie, then Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in ("zh-CN", "en"):
        return chosen
    return negotiate(request.headers.get("accept-language"), request.app.state.settings.default_language)


Language = Annotated[str, Depends(language)]


def _principal_from(claims: dict, path: str = "", *, db: Session) -> Principal:
    person = db.get(Person, int(claims["sub"]))
    if person is None or not person.active:
        raise Unauthenticated("error.token_invalid")
    # A token is good only while its sign-in is open: logout, a lock or a password change closes it.
    signins.open_sign_in(claims.get("jti"), person.id, db=db)
    if person.must_change_password and path not in WHILE_PASSWORD_CHANGE_REQUIRED:
        raise PasswordChangeRequired("error.password_change_required")
    return principal_for(person)


def api_principal(request: Request, *, db: DbSession) -> Principal:
    """The caller of an API route, from the bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("error.token_missing")
    claims = tokens.read(request.app.state.secret, token.strip(), purpose=API_TOKEN)
    return _principal_from(claims, request.url.path, db=db)


def page_principal_or_none(request: Request, *, db: DbSession) -> Principal | None:
    """The signed-in person of a page request, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = tokens.read(request.app.state.secret, token, purpose=PAGE_TOKEN)
        return _principal_from(claims, request.url.path, db=db)
    except Unauthenticated:
        return None
    except PasswordChangeRequired:
        raise HTTPException(303, headers={"Location": "/account/password"}) from None


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal | None, Depends(page_principal_or_none)]
