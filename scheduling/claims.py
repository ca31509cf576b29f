"""Claims: one row per resource per time quantum, so the database itself forbids double booking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.errors import BookingConflict
from scheduling.policy import Policy, floor_to_quantum, quanta
from vreception.models.scheduling import Claim, ReceptionSession

# Declarative types __table__ as a FromClause; Claim maps one plain Table.
_INSERT_CLAIMS = insert(cast(Table, Claim.__table__))


def leader_key(leader_id: int) -> str:
    return f"leader:{leader_id}"


def room_key(room_id: int) -> str:
    return f"room:{room_id}"


def person_key(person_id: int) -> str:
    return f"person:{person_id}"


def resources(booking: ReceptionSession) -> dict[str, tuple[datetime, datetime]]:
    """Every resource the session holds, with the span it holds it for."""
    end = booking.ends_at
    # The leader's buffer after a session is part of the leader's claim: back-to-back bookings
    # that would eat the buffer collide in the database like any other overlap.
    spans = {leader_key(booking.leader_id): (booking.starts_at, end + timedelta(minutes=booking.buffer_minutes))}
    for p in booking.participants:
        if p.room_id is not None:
            spans[room_key(p.room_id)] = (booking.starts_at, end)
        elif p.person_id is not None and p.person_id != booking.leader_id:
            spans[person_key(p.person_id)] = (booking.starts_at, end)
    return spans


def claim(*, db: Session, booking: ReceptionSession, policy: Policy) -> None:
    """Insert the session's claims; BookingConflict when any resource is already held."""
    rows = sorted((key, slot) for key, (start, end) in resources(booking).items() for slot in quanta(policy, start, end))
    # One ordered multi-row INSERT: concurrent bookings take row locks in the same order, so they
    # wait for each other (then fail on the unique key) instead of deadlocking.
    try:
        # A Core INSERT of the table: the rows are plain values, no ORM bulk bookkeeping needed.
        db.execute(_INSERT_CLAIMS, [{"resource": r, "slot": s, "session_id": booking.id} for r, s in rows])
    except IntegrityError:
        raise BookingConflict("error.booking_conflict") from None


def release(*, db: Session, booking: ReceptionSession) -> None:
    """Free every claim of the session."""
    db.execute(delete(Claim).where(Claim.session_id == booking.id))


def release_from(*, db: Session, booking: ReceptionSession, moment: datetime, policy: Policy) -> int:
    """Free the session's claims from MOMENT's quantum on (it ended early or nobody came); returns how many."""
    first = floor_to_quantum(policy, moment)
    result = db.execute(delete(Claim).where(Claim.session_id == booking.id, Claim.slot >= first))
    assert isinstance(result, CursorResult)  # a DELETE answers with a cursor result, which counts rows
    return result.rowcount


def busy(*, db: Session, keys: list[str], first: datetime, last: datetime) -> dict[str, set[datetime]]:
    """For each resource key, the claimed quanta between FIRST and LAST."""
    out: dict[str, set[datetime]] = {k: set() for k in keys}
    query = select(Claim.resource, Claim.slot).where(Claim.resource.in_(keys), Claim.slot >= first, Claim.slot < last)
    for resource, slot in db.execute(query):
        out[resource].add(slot)
    return out
