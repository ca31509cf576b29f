"""Typed errors users can hit; each has a stable code, an HTTP status and a catalog message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a user can cause; the web layer turns it into a 4xx with a translated detail."""

    code = "invalid"
    status = 422

    def __init__(self, message_key: str | None = None, *, field: str | None = None, **params: Any) -> None:
        self.message_key = message_key or f"error.{self.code}"
        self.field = field
        self.params = params
        super().__init__(f"{self.code}: {self.message_key} {params}")


class Invalid(DomainError):
    """Input that breaks a rule of the data (422 invalid)."""

    code = "invalid"
    status = 422


class NotFound(DomainError):
    """Something named that does not exist, or that the caller may not know exists."""

    code = "not_found"
    status = 404


class Conflict(DomainError):
    """A uniqueness or resource conflict (409)."""

    code = "conflict"
    status = 409


class Unauthenticated(DomainError):
    """No valid credentials (401)."""

    code = "unauthenticated"
    status = 401


class BadCredentials(Unauthenticated):
    """Wrong username or password (401 bad_credentials)."""

    code = "bad_credentials"


class Forbidden(DomainError):
    """Outside the caller's role or node subtree (403)."""

    code = "forbidden"
    status = 403
