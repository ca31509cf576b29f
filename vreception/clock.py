"""The platform's clock: real time in production, movable in tests (time travel)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware, in UTC."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def travel_to(moment: datetime, *, freeze: bool = True) -> None:
    """Move the clock to MOMENT (tests only); frozen unless freeze is False."""
    global _offset, _frozen
    if moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    if freeze:
        _frozen = moment.astimezone(UTC)
    else:
        _frozen = None
        _offset = moment - datetime.now(UTC)


def reset() -> None:
    """Back to real time."""
    global _offset, _frozen
    _offset = timedelta(0)
    _frozen = None


@contextmanager
def running_from(moment: datetime) -> Iterator[None]:
    """The clock running from MOMENT while the block runs, then as it was before (the demo's back-dated steps)."""
    global _offset, _frozen
    saved = _offset, _frozen
    travel_to(moment, freeze=False)
    try:
        yield
    finally:
        _offset, _frozen = saved
