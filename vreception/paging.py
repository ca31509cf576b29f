"""Paged lists: `{"items", "total", "next"}` with an offset cursor, counted and limited in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from vreception.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next` back as `cursor` for the following page (null on the last)."""

    items: list[T]
    total: int = Field(description="how many items the whole filtered list holds")
    next: str | None = Field(default=None, description="the cursor of the next page, or null on the last")


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


def count(db: Session, query: Select[Any]) -> int:
    """How many rows QUERY selects, counted in SQL."""
    return db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def fetch(db: Session, query: Select[Any], *, total: int | None = None, limit: int | None = None,
          cursor: str | None = None) -> tuple[list[Any], int, str | None]:
    """The rows of one page of QUERY (filtered and ordered in SQL), the total and the next cursor."""
    size, offset = check_limit(limit), offset_of(cursor)
    total = count(db, query) if total is None else total
    rows = list(db.scalars(query.limit(size).offset(offset)))
    following = offset + len(rows)
    return rows, total, str(following) if rows and following < total else None


def page_of(db: Session, query: Select[Any], *, item: Callable[[Any], T], total: int | None = None,
            limit: int | None = None, cursor: str | None = None) -> Page[T]:
    """One page of QUERY with each row turned into a read model by ITEM (total counted in SQL unless given)."""
    rows, total, following = fetch(db, query, total=total, limit=limit, cursor=cursor)
    return Page[Any](items=[item(row) for row in rows], total=total, next=following)
