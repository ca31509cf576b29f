"""Gap-free sequences per scope and year, safe under concurrent requests."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vreception.models import Counter


def next_value(*, db: Session, scope: str, year: int) -> int:
    """The next number of SCOPE in YEAR (1, 2, 3 …); the row lock serialises concurrent callers."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(insert(Counter).values(scope=scope, year=year, value=0).on_conflict_do_nothing())
    return db.execute(
        update(Counter).where(Counter.scope == scope, Counter.year == year)
        .values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
