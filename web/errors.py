"""Turn errors into JSON {"detail", "code"} (translated) for the API and pages for browsers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vreception.errors import DomainError, Invalid
from vreception.i18n import translate
from web import openapi
from web.deps import language
from web.security import security_headers

# numeric_value_out_of_range, invalid_text_representation
OUT_OF_RANGE = {"22003", "22P02"}
# psycopg's refusal of text with a NUL character (PostgreSQL text cannot hold one; SQLite stores it).
NUL_REFUSED = "cannot contain NUL"
_HTTP_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def error_body(request: Request, code: str, key: str, field: str | None = None,
               params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error body in the caller's language."""
    body = {"detail": translate(key, language(request), **(params or {})), "code": code}
    if field:
        body["field"] = field
    return body


# Starlette types every exception handler as taking Exception; each one below is registered for one class.

async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if exc.status == 401 and _wants_page(request):
        return RedirectResponse("/login", status_code=303)
    body = error_body(request, exc.code, exc.message_key, exc.field, exc.params)
    if _wants_page(request):
        from web.templating import render

        # A person in a browser gets a page in their language, not JSON.
        return render(request, "error.html", status_code=exc.status, detail=body["detail"])
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    body = error_body(request, "invalid", "error.invalid_field", field,
                      {"field": field or "?", "reason": first.get("msg", "")})
    return JSONResponse(body, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    body = error_body(request, code, f"error.{code}")
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def out_of_range(request: Request, exc: Exception) -> Response:
    """A number the database cannot hold (an id past its integer type), or text PostgreSQL cannot hold (a NUL
    character, refused by its driver): 422 invalid, not a 500."""
    if isinstance(exc, DataError) and NUL_REFUSED in str(exc.orig):
        return await domain_error(request, Invalid("error.nul_character"))
    if isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) not in OUT_OF_RANGE:
        raise exc
    body = error_body(request, "invalid", "error.out_of_range")
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers and the security headers on APP."""
    app.add_middleware(security_headers)
    openapi.install(app)  # the schema documents these answers as they are given
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    # SQLite's driver refuses integers past 64 bits; PostgreSQL refuses ids past its integer column.
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
