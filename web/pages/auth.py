"""The sign-in page and sign-out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from vreception import audit
from vreception.auth import tokens
from vreception.errors import BadCredentials
from vreception.people import authenticate
from web import csrf
from web.deps import LANG_COOKIE, PAGE_TOKEN, SESSION_COOKIE, DbSession, PagePrincipal
from web.settings import AppSettings
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
    try:
        person = authenticate(db, username=username, password=password)
    except BadCredentials:
        return render(request, "login.html", status_code=401, error="error.bad_credentials", username=username)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    token, _ = tokens.issue(request.app.state.secret, subject=str(person.id), purpose=PAGE_TOKEN, ttl=ttl)
    audit.record(db, action="auth.login", entity_type="person", entity_id=person.id, actor_id=person.id,
                 data={"via": "page"})
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True, samesite="lax",
                        secure=settings.cookie_secure)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form(default="", max_length=200)):
    """Forget the session cookie."""
    csrf.check(request, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
