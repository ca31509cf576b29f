"""The video receptions of ended months stored (issue 16): sessions per leader and the leader's node path by outcome,
the months stored, and the months a late change made stale (scheduling.session_counts counts and reads them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, Date, Integer, String, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from vreception.clock import now
from vreception.db import Base, UTCDateTime
from vreception.models.figures import _counted_changed, _day_bounds, _history, _month
from vreception.models.scheduling import Participant, ReceptionSession


class SessionCount(Base):
    """The sessions of one ended month (of their local start day) of one leader sitting at NODE_PATH, by outcome."""

    __tablename__ = "session_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day
    leader_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_path: Mapped[str] = mapped_column(String(255), primary_key=True)  # the sessions' copy of the leader's path
    held: Mapped[int] = mapped_column(Integer)  # ended
    persons: Mapped[int] = mapped_column(Integer)  # the group's participants (petitioners …) of the sessions held
    no_show: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)  # any other state: booked, open or live


class SessionMonth(Base):
    """An ended month whose session counts are stored (session_counts)."""

    __tablename__ = "session_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaleSessionMonth(Base):
    """A stored month whose session counts a late change moved: counted again on next read."""

    __tablename__ = "stale_session_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the marks: a flushed session or participant of a stored month that moves its counts marks that month ---

SESSION_COUNTED = ("state", "leader_id", "node_path", "starts_at")
PARTICIPANT_COUNTED = ("role", "session_id")

# The participants' roles counted as persons (scheduling.rules.GROUP_ROLES, handed in by scheduling.session_counts:
# the models may not import scheduling). Until then a participant of any role marks, more than it must, never less.
_group_roles: frozenset[str] | None = None


def use_group_roles(roles: Iterable[str]) -> None:
    """The participants' roles counted as persons, for the marks."""
    global _group_roles
    _group_roles = frozenset(roles)


def _local_months(moment: datetime) -> set[date]:
    """The months the local day of MOMENT may fall in."""
    low, high = _day_bounds(moment)
    return {_month(low), _month(high)}


def _starts(obj: ReceptionSession) -> list[datetime]:
    return [value for value in _history(obj, "starts_at") if isinstance(value, datetime)]


def write_marks(connection: Connection, months: Iterable[date], *, at: datetime) -> None:
    """MONTHS marked stale at AT (a month marked already: its mark moved to AT)."""
    rows = [{"month": month, "marked_at": at} for month in sorted(set(months))]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = upsert(StaleSessionMonth)
    connection.execute(statement.on_conflict_do_update(index_elements=["month"],
                                                       set_={"marked_at": statement.excluded.marked_at}), rows)


def _mark_sessions(session: Session, _context: object) -> None:
    """Mark the stored months a flushed session or participant moves: a session inserted or deleted, or its state,
    leader, node path or start changed (its months before and after); a participant of the group's roles inserted,
    deleted, given another role or moved to another session (the months of both sessions)."""
    moment = now()
    current = _month(_day_bounds(moment)[1])  # the latest the current month may be: the months before it may be stored
    months: set[date] = set()
    looked_up: set[int] = set()  # sessions whose start to read (after this flush)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ReceptionSession):
            if not _counted_changed(obj, SESSION_COUNTED, db=session):
                continue
            if "starts_at" in inspect(obj).unloaded and obj.id is not None:
                looked_up.add(obj.id)
            months |= {m for value in _starts(obj) for m in _local_months(value)}
        elif isinstance(obj, Participant):
            if not _counted_changed(obj, PARTICIPANT_COUNTED, db=session):
                continue
            if (_group_roles is not None and "role" not in inspect(obj).unloaded
                    and not set(_history(obj, "role")) & _group_roles):
                continue  # a leader, a room, a coordinator …: never counted
            for session_id in set(_history(obj, "session_id")):
                loaded = session.identity_map.get(identity_key(ReceptionSession, session_id))
                if isinstance(loaded, ReceptionSession) and "starts_at" not in inspect(loaded).unloaded:
                    months |= {m for value in _starts(loaded) for m in _local_months(value)}
                else:
                    looked_up.add(session_id)
    months = {m for m in months if m < current}
    if not months and not looked_up:
        return
    # Months not stored need no mark: when none is (a loader of past sessions), nothing more to read.
    connection = session.connection()
    stored = set(connection.scalars(select(SessionMonth.month).where(SessionMonth.month < current)))
    if not stored:
        return
    if looked_up:
        for (starts_at,) in connection.execute(select(ReceptionSession.starts_at)
                                               .where(ReceptionSession.id.in_(sorted(looked_up)))):
            months |= {m for m in _local_months(starts_at) if m < current}
    write_marks(connection, months & stored, at=moment)


event.listen(Session, "after_flush", _mark_sessions)


def _keep_old(target: object, value: object, old: object, initiator: object) -> None:
    """Nothing to do: listening with active_history is what loads the old value."""


# The start a session had and the session a participant had are the months to mark: loaded before they are replaced,
# even on an object whose attributes expired (a commit), where SQLAlchemy would otherwise forget them.
event.listen(ReceptionSession.starts_at, "set", _keep_old, active_history=True)
event.listen(Participant.session_id, "set", _keep_old, active_history=True)
