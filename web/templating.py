"""The Jinja2 environment for pages: autoescaped, with the message catalog as t()."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from vreception.i18n import translate
from web import csrf
from web.deps import language

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render template NAME in the request's language, with a CSRF token for its forms."""
    lang = language(request)
    context.setdefault("principal", None)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": lambda key, **params: translate(key, lang, **params),
            "csrf_token": csrf.token_for(request),
            **context,
        },
        status_code=status_code,
    )
    csrf.set_cookie(request, response)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
