"""Paged lists: `{"items", "total", "next"}`, counted and limited in SQL: keyset cursors (the sort key of the last row)
for the long lists, offset cursors for the short ones; a long list's total is exact up to COUNT_CAP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from vreception.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Counting stops here: "10,000+" is what a reader needs of a bigger list, and no page counts a province's million.
COUNT_CAP = 10_000
MAX_KEY_CURSOR = 40  # the APIs' cursor parameters take 40 characters
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next` back as `cursor` for the following page (null on the last)."""

    items: list[T]
    total: int = Field(description="how many items the whole filtered list holds")
    next: str | None = Field(default=None, description="the cursor of the next page, or null on the last")
    total_capped: bool = Field(default=False, exclude_if=lambda capped: not capped, description=(
        "present and true when counting stopped at `total`: the list holds more (shown as \"10,000+\")"))


def check_limit(limit: int | None) -> int:
    """LIMIT, or the default; 422 invalid outside 1..MAX_LIMIT."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("error.invalid_field", field="limit", reason=f"1–{MAX_LIMIT}")
    return limit


def offset_of(cursor: str | None) -> int:
    """The offset an opaque cursor stands for; 422 invalid for anything this module did not hand out."""
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
        raise Invalid("error.invalid_field", field="cursor", reason="")
    return int(cursor)


def count(query: Select[Any], *, db: Session) -> int:
    """How many rows QUERY selects, counted in SQL."""
    return db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def fetch(query: Select[Any], *, db: Session, total: int | None = None, limit: int | None = None,
          cursor: str | None = None) -> tuple[list[Any], int, str | None]:
    """The rows of one page of QUERY (filtered and ordered in SQL), the total and the next cursor."""
    size, offset = check_limit(limit), offset_of(cursor)
    total = count(query, db=db) if total is None else total
    rows = list(db.scalars(query.limit(size).offset(offset)))
    following = offset + len(rows)
    return rows, total, str(following) if rows and following < total else None


def page_of(query: Select[Any], *, db: Session, item: Callable[[Any], T], total: int | None = None,
            limit: int | None = None, cursor: str | None = None) -> Page[T]:
    """One page of QUERY with each row turned into a read model by ITEM (total counted in SQL unless given)."""
    rows, total, following = fetch(query, db=db, total=total, limit=limit, cursor=cursor)
    return Page[Any](items=[item(row) for row in rows], total=total, next=following)


def bounded_count(query: Select[Any], *, db: Session, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows QUERY selects, counted in SQL up to CAP: (count, whether there are more)."""
    # Ordered by the first ORDER BY key of the list itself (or as given): a reader over most of the table counts by
    # walking that index and stops at the cap, where an unordered LIMIT would be a sequential scan.
    counted = query.with_only_columns(literal(1), maintain_column_froms=True).limit(cap + 1)
    found = db.scalar(select(func.count()).select_from(counted.subquery())) or 0
    return min(found, cap), found > cap


# ---- keyset cursors ----------------------------------------------------------------------------------------------

Key = tuple[SQLColumnExpression[Any], bool]  # a sort column and whether it descends


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive time")
        return f"t{(value - EPOCH) // timedelta(microseconds=1)}"
    if isinstance(value, date):
        return f"d{value.toordinal()}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"i{value}"
    raise ValueError(f"no cursor form for {type(value).__name__}")


def _typed(text: str) -> Any:
    kind, digits = text[:1], text[1:]
    if not digits.lstrip("-").isdigit() or len(digits) > 20:
        raise ValueError
    if kind == "t":
        return EPOCH + timedelta(microseconds=int(digits))
    if kind == "d":
        return date.fromordinal(int(digits))
    if kind == "i":
        return int(digits)
    raise ValueError


def encode_keys(tag: str, values: Sequence[Any]) -> str:
    """A short opaque cursor for the row after VALUES (the sort keys of the last row shown) in the list named TAG:
    times as microseconds since the epoch, days as ordinals, ids as numbers."""
    return ".".join([tag, *[_plain(v) for v in values]])


def decode_keys(tag: str, cursor: str | None, size: int) -> list[Any] | None:
    """The SIZE sort keys a cursor of the list TAG stands for; 422 invalid (field cursor) for anything else."""
    if not cursor:
        return None
    try:
        parts = cursor.split(".")
        if len(cursor) > MAX_KEY_CURSOR or not cursor.isascii() or len(parts) != size + 1 or parts[0] != tag:
            raise ValueError
        return [_typed(v) for v in parts[1:]]
    except (ValueError, OverflowError):
        raise Invalid("error.invalid_field", field="cursor", reason="") from None


def after(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """The rows that come after VALUES in the order KEYS (a keyset condition: the order's index starts there)."""
    arms = []
    for i, (column, descending) in enumerate(keys):
        beyond = column < values[i] if descending else column > values[i]
        arms.append(and_(*[c == v for (c, _), v in zip(keys[:i], values[:i], strict=True)], beyond))
    return or_(*arms)


def ordered(query: Select[Any], keys: Sequence[Key]) -> Select[Any]:
    """QUERY in the order KEYS."""
    return query.order_by(*[column.desc() if descending else column for column, descending in keys])


def keyset_fetch(query: Select[Any], *, db: Session, keys: Sequence[Key], tag: str, row_keys: Callable[[Any], list[Any]],
                 limit: int | None = None, cursor: str | None = None) -> tuple[list[Any], int, bool, str | None]:
    """One page of QUERY in the order KEYS after CURSOR: (rows, total up to COUNT_CAP, capped, next cursor).
    ROW_KEYS gives a row's sort keys (for the next cursor)."""
    size, start = check_limit(limit), decode_keys(tag, cursor, len(keys))
    total, capped = bounded_count(ordered(query, keys[:1]), db=db)
    if start is not None:
        query = query.where(after(keys, start))
    rows = list(db.scalars(ordered(query, keys).limit(size + 1)))
    following = encode_keys(tag, row_keys(rows[size - 1])) if len(rows) > size else None
    return rows[:size], total, capped, following
