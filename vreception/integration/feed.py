"""Reading the feed by cursor: pages in id order, resumable and idempotent.

Ids are handed out under the integration head's row lock, held until commit (record.py), so they become visible in
commit order: whatever a reader sees is a prefix 1..H of the ids. A page reads the high-water mark H first and then
only ids up to H, so the cursor it returns never passes an id that a later commit could still fill in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from vreception.cases.deadlines import zone
from vreception.errors import Invalid
from vreception.integration.views import ChangeOut, ChangesPage, change_out
from vreception.models import Matter
from vreception.models.integration import IntegrationChange

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_CURSOR_DIGITS = 12


def cursor_value(cursor: str | None) -> int:
    """The id a cursor stands for (empty: the beginning); 422 invalid for anything else."""
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > MAX_CURSOR_DIGITS:
        raise Invalid("integration.error.cursor", field="after")
    return int(cursor)


def check_limit(limit: int | None) -> int:
    """LIMIT, or the default; 422 invalid outside 1..MAX_LIMIT."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("integration.error.limit", field="limit", max=MAX_LIMIT)
    return limit


def high_water(*, db: Session) -> int:
    """The highest id visible now: every id below it is visible too (commit order)."""
    return int(db.scalar(select(func.coalesce(func.max(IntegrationChange.id), 0))) or 0)


def _query(after: int, upto: int, condition: ColumnElement[bool]) -> Select[Any]:
    return (select(IntegrationChange).join(Matter, Matter.id == IntegrationChange.matter_id)
            .where(IntegrationChange.id > after, IntegrationChange.id <= upto, condition)
            .order_by(IntegrationChange.id))


def page(*, db: Session, after: str | None, limit: int | None = None,
         condition: ColumnElement[bool] | None = None) -> ChangesPage:
    """The changes after the cursor AFTER that CONDITION lets through, at most LIMIT, and the cursor to resume."""
    start, size = cursor_value(after), check_limit(limit)
    upto = high_water(db=db)
    rows = list(db.scalars(_query(start, upto, true() if condition is None else condition).limit(size)))
    full = len(rows) == size
    # A full page resumes after its last item; a short one has seen every visible id up to the high-water mark.
    following = rows[-1].id if full else max(upto, start)
    return ChangesPage(items=[change_out(r) for r in rows], next=str(following), more=full)


def cursor_before(day: date, *, db: Session) -> int:
    """The cursor that starts at the first change recorded on or after DAY (local midnight)."""
    start = datetime.combine(day, time(), tzinfo=zone())
    first = db.scalar(select(func.min(IntegrationChange.id)).where(IntegrationChange.recorded_at >= start))
    return (first - 1) if first is not None else high_water(db=db)


def since(value: str, *, db: Session) -> int:
    """A --since argument: a cursor (digits) or a day (YYYY-MM-DD); 422 invalid otherwise."""
    if value.isascii() and value.isdigit():
        return cursor_value(value)
    try:
        return cursor_before(date.fromisoformat(value), db=db)
    except ValueError:
        raise Invalid("integration.error.since", field="since") from None


def every(*, db: Session, after: int, batch: int = MAX_LIMIT) -> Iterator[ChangeOut]:
    """Every change after AFTER up to the high-water mark at the start, in id order (the export)."""
    upto = high_water(db=db)
    while after < upto:
        rows = list(db.scalars(_query(after, upto, true()).limit(batch)))
        if not rows:
            return
        yield from (change_out(r) for r in rows)
        after = rows[-1].id
