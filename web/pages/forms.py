"""Reading HTML forms into the shapes the services take, and trying a change inside a savepoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.datastructures import FormData

from vreception.errors import DomainError, Invalid

T = TypeVar("T")
MAX_FIELD = 10_000
MAX_FILES = 11  # a task report's attachments (vreception.tasks.MAX_ATTACHMENTS) and one more to refuse


async def _posted(request: Request) -> FormData:
    # Read on the event loop, so that the route itself can be a plain function on a worker thread:
    # a database call inside an async route would stall every other request while it waits for a lock.
    return await request.form(max_files=MAX_FILES)


Posted = Annotated[FormData, Depends(_posted)]


def text(form: FormData, name: str, limit: int = MAX_FIELD) -> str:
    """A text field, stripped and cut to LIMIT characters."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def texts(form: FormData, name: str, limit: int = MAX_FIELD) -> list[str]:
    """Every value of a repeated text field."""
    return [v.strip()[:limit] if isinstance(v, str) else "" for v in form.getlist(name)]


def integer(form: FormData, name: str) -> int | None:
    """An integer field, or None when empty; Invalid when it is not a number."""
    raw = text(form, name, 20)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid("error.invalid_field", field=name, reason=raw) from None


def day(form: FormData, name: str) -> date | None:
    """A date field (YYYY-MM-DD), or None when empty."""
    raw = text(form, name, 20)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("error.invalid_field", field=name, reason=raw) from None


def clock_time(form: FormData, name: str) -> time | None:
    """A time field (HH:MM), or None when empty."""
    raw = text(form, name, 20)
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise Invalid("error.invalid_field", field=name, reason=raw) from None


def local_datetime(form: FormData, name: str, tz) -> datetime | None:
    """A datetime-local field read in the display time zone, or None when empty."""
    raw = text(form, name, 40)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("error.invalid_field", field=name, reason=raw) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def attempt(change: Callable[[], T], *, db) -> tuple[T | None, DomainError | None]:
    """Run CHANGE in a savepoint: its writes stay only if it raises no domain error."""
    try:
        with db.begin_nested():
            return change(), None
    except DomainError as error:
        return None, error


def dry_run(change: Callable[[], T], *, db) -> DomainError | None:
    """Run CHANGE in a savepoint and always roll it back: the rules' verdict without the write."""
    savepoint = db.begin_nested()
    try:
        change()
        return None
    except DomainError as error:
        return error
    finally:
        savepoint.rollback()
