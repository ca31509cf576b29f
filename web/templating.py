"""The Jinja2 environment for pages: autoescaped, with the message catalog as t() and a JSON filter for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from vreception.i18n import translate
from web import csrf
from web.deps import language

# A name like "</script><script src=…>" must not end the <script type="application/json"> block it is
# embedded in; U+2028/9 are escaped too, for any consumer that still reads the JSON as JavaScript.
_JSON_HTML_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                      ord("\u2028"): "\\u2028", ord("\u2029"): "\\u2029"}


def json_script(value) -> Markup:
    """VALUE as JSON that is safe inside a <script type="application/json"> element of a page."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.translate(_JSON_HTML_ESCAPES))


# Scripts, styles, sockets and form posts only to this site ('self' covers its ws:/wss: too).
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
            "style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["json_script"] = json_script


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
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Pages show decrypted personal data (ID numbers, phones): no copy stays in a shared browser's cache.
    response.headers["Cache-Control"] = "no-store"
    return response
