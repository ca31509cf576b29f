"""The sign-in page, sign-out and changing one's own password."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from vreception.auth import accounts, signins, tokens
from vreception.config import Settings
from vreception.errors import DomainError, Invalid, Unauthenticated
from vreception.models import SignIn
from web import csrf
from web.deps import LANG_COOKIE, PAGE_TOKEN, SESSION_COOKIE, DbSession, PagePrincipal
from web.pages.support import User, nav_for
from web.settings import AppSettings, client_address
from web.templating import render

router = APIRouter()


@router.get("/login")
def login_page(request: Request, principal: PagePrincipal):
    """The sign-in form (zh-CN by default)."""
    if principal is not None:
        return RedirectResponse("/", status_code=303)
    response = render(request, "login.html")
    if request.query_params.get("lang") in ("zh-CN", "en"):
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="lax")
    return response


@router.post("/login")
def login_submit(request: Request, db: DbSession, settings: AppSettings, username: str = Form(max_length=64),
                 password: str = Form(max_length=256), csrf_token: str = Form(default="", max_length=200)):
    """Check the password, set the session cookie and go to the landing page."""
    csrf.check(request, csrf_token)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    try:
        person, opened = signins.sign_in(db=db, username=username, password=password, via="page",
                                         client=client_address(request), ttl=ttl,
                                         attempts=request.app.state.login_attempts,
                                         lock_after=settings.login_failures_before_lock)
    except DomainError as refused:
        # The failure and its audit event are kept (a refused sign-in is still a fact).
        db.commit()
        return render(request, "login.html", status_code=refused.status, error=refused.message_key,
                      username=username)
    # A temporary password (an administrator's reset) opens only the way to changing it.
    response = RedirectResponse("/account/password" if person.must_change_password else "/", status_code=303)
    _set_session(request, response, opened, settings)
    # A fresh CSRF nonce for the signed-in browser: one planted before sign-in is worth nothing after it.
    response.delete_cookie(csrf.CSRF_COOKIE)
    return response


def _set_session(request: Request, response: Response, opened: SignIn, settings: Settings) -> None:
    """Give the browser the page token of OPENED."""
    ttl = opened.expires_at - opened.created_at
    token, _ = tokens.issue(request.app.state.secret, subject=str(opened.person_id), purpose=PAGE_TOKEN, ttl=ttl,
                            jti=opened.id)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True, samesite="lax",
                        secure=settings.cookie_secure)


@router.post("/logout")
def logout(request: Request, db: DbSession, csrf_token: str = Form(default="", max_length=200)):
    """End the sign-in (the cookie is refused from now on, wherever it was copied) and forget it."""
    csrf.check(request, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            claims = tokens.read(request.app.state.secret, cookie, purpose=PAGE_TOKEN)
            signins.sign_out(db=db, sign_in_id=str(claims.get("jti", "")), actor_id=int(claims["sub"]))
        except Unauthenticated:
            pass  # an expired or foreign cookie has nothing left to end
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account/password")
def password_page(request: Request, principal: User):
    """The form to change one's own password."""
    return render(request, "account_password.html", principal=principal, nav=nav_for(principal))


@router.post("/account/password")
def password_submit(request: Request, principal: User, db: DbSession, settings: AppSettings,
                    current_password: str = Form(default="", max_length=256),
                    new_password: str = Form(default="", max_length=256),
                    confirm_password: str = Form(default="", max_length=256),
                    csrf_token: str = Form(default="", max_length=200)):
    """Change the password: every sign-in of the account ends, then this browser gets a fresh one."""
    csrf.check(request, csrf_token)
    client = client_address(request)
    try:
        if new_password != confirm_password:
            raise Invalid("error.password_confirm", field="confirm_password")
        person = accounts.change_password(db=db, person_id=principal.person_id, current=current_password,
                                          new=new_password, client=client,
                                          lock_after=settings.login_failures_before_lock)
    except DomainError as refused:
        db.commit()  # a wrong current password counts toward the lock, though the answer is an error
        return render(request, "account_password.html", status_code=refused.status, principal=principal,
                      nav=nav_for(principal), error=refused.message_key, params=refused.params)
    opened = signins.open_for(person, db=db, via="page", client=client,
                              ttl=timedelta(minutes=settings.token_ttl_minutes))
    response = render(request, "account_password.html", principal=principal, nav=nav_for(principal), done=True)
    _set_session(request, response, opened, settings)
    return response
