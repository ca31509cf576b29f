"""CSRF protection for page forms: a signed per-browser token in a cookie and in each form."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from vreception.errors import Forbidden

CSRF_COOKIE = "vr_csrf"
CSRF_FIELD = "csrf_token"


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), "sha256").hexdigest()[:32]


def token_for(request: Request, response: Response | None = None) -> str:
    """The form token for this browser, setting the cookie on RESPONSE when new."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or len(nonce) > 64:
        nonce = getattr(request.state, "csrf_nonce", None) or secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce
    return f"{nonce}.{_sign(request.app.state.secret, nonce)}"


def set_cookie(request: Request, response: Response) -> None:
    """Store the browser's nonce if this request minted one."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                            secure=request.app.state.settings.cookie_secure)


def check(request: Request, submitted: str | None) -> None:
    """Refuse a form whose token does not match this browser's cookie."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted:
        raise Forbidden("error.csrf")
    expected = f"{nonce}.{_sign(request.app.state.secret, nonce)}"
    if not hmac.compare_digest(expected, submitted):
        raise Forbidden("error.csrf")
