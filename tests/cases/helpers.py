"""Shanghai times for matter tests; the builders (ID numbers, registering and acting through the API) live in
tests/factories.py and stay importable from here."""

from __future__ import annotations

from datetime import date, datetime

from tests.factories import SH
from tests.factories import FreshHeaders as FreshHeaders
from tests.factories import act as act
from tests.factories import id_number as id_number
from tests.factories import matter_body as matter_body
from tests.factories import register as register
from vreception import clock


def at(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def travel(year, month, day, hour=10, minute=0) -> datetime:
    moment = at(year, month, day, hour, minute)
    clock.travel_to(moment)
    return moment


def stored_through(db, month: date) -> date | None:
    """The last of MONTH's finished days stored while it runs (None: not stored in part)."""
    from vreception.models.figures import FigureMonth

    with db.transaction() as s:
        row = s.get(FigureMonth, (30, month))
        return row.through if row is not None else None
