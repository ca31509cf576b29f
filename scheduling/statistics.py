"""Video receptions over a range (批次/人次): sessions held, no-show and cancelled per leader, and the persons
present (petitioners and representatives of the sessions held), counted in SQL grouped by leader. A range of whole
months reads its ended months from their stored counts (scheduling.session_counts) and counts only the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from scheduling import session_counts
from scheduling.rules import GROUP_ROLES
from vreception.models import Node, Person
from vreception.models.scheduling import Participant, ReceptionSession, SessionState


@dataclass
class SessionCounts:
    """Sessions of one leader (or a sum of leaders) starting within a range."""

    held: int = 0  # 批次: ended sessions, the leader received
    persons: int = 0  # 人次: petitioners and representatives of the sessions held
    no_show: int = 0
    cancelled: int = 0
    pending: int = 0  # booked, open or live: not decided yet

    def merge(self, other: SessionCounts) -> None:
        self.held += other.held
        self.persons += other.persons
        self.no_show += other.no_show
        self.cancelled += other.cancelled
        self.pending += other.pending


@dataclass
class LeaderSessions:
    """One leader's sessions over the range, with where the leader sits."""

    leader_id: int
    name: str
    title: str
    node_id: int
    node_name: str
    node_path: str
    level: str
    counts: SessionCounts


def by_leader(*, db: Session, start: datetime, end: datetime, path: str) -> list[LeaderSessions]:
    """Sessions starting in [START, END] whose leader sits in the subtree PATH, per leader, most held first. When
    [START, END] is whole months, the ended ones are read from their stored counts."""
    counts: dict[int, SessionCounts] = {}
    months = session_counts.whole_months(start, end)
    stored = session_counts.ended_part(months) if months is not None else []
    if stored:
        for leader_id, tally in session_counts.by_leader(db=db, months=stored, path=path).items():
            counts[leader_id] = SessionCounts(*tally)
        if len(stored) == len(months or ()):
            return _named(counts, db=db)
        start = session_counts.month_start(session_counts.following(stored[-1]))  # the months after: counted live
    inside = (ReceptionSession.starts_at >= start, ReceptionSession.starts_at <= end,
              ReceptionSession.node_path.startswith(path, autoescape=True))
    for leader_id, state, n in db.execute(
            select(ReceptionSession.leader_id, ReceptionSession.state, func.count())
            .where(*inside).group_by(ReceptionSession.leader_id, ReceptionSession.state)):
        entry = counts.setdefault(leader_id, SessionCounts())
        state = SessionState(state)
        if state is SessionState.ended:
            entry.held += n
        elif state is SessionState.no_show:
            entry.no_show += n
        elif state is SessionState.cancelled:
            entry.cancelled += n
        else:
            entry.pending += n
    for leader_id, n in db.execute(
            select(ReceptionSession.leader_id, func.count(Participant.id))
            .join(Participant, Participant.session_id == ReceptionSession.id)
            .where(*inside, ReceptionSession.state == SessionState.ended, Participant.role.in_(GROUP_ROLES))
            .group_by(ReceptionSession.leader_id)):
        counts.setdefault(leader_id, SessionCounts()).persons += n
    return _named(counts, db=db)


def _named(counts: dict[int, SessionCounts], *, db: Session) -> list[LeaderSessions]:
    """COUNTS of each leader with the leader's name and seat, most held first."""
    if not counts:
        return []
    people = db.execute(select(Person.id, Person.name, Person.title, Node.id, Node.name, Node.path, Node.level)
                        .join(Node, Node.id == Person.node_id).where(Person.id.in_(counts))).all()
    found = [LeaderSessions(pid, name, title, node_id, node_name, node_path, getattr(level, "value", level),
                            counts[pid]) for pid, name, title, node_id, node_name, node_path, level in people]
    return sorted(found, key=lambda row: (-row.counts.held, -row.counts.persons, row.leader_id))


def summed(rows: Iterable[LeaderSessions]) -> SessionCounts:
    """ROWS' counts added into one."""
    out = SessionCounts()
    for row in rows:
        out.merge(row.counts)
    return out


def by_level(rows: Iterable[LeaderSessions]) -> dict[str, SessionCounts]:
    """ROWS' counts added up by the level of the leader's node (province, city, county, township)."""
    out: dict[str, SessionCounts] = {}
    for row in rows:
        out.setdefault(row.level, SessionCounts()).merge(row.counts)
    return out


def held_by_month(*, db: Session, bounds: list[datetime], path: str) -> list[int]:
    """Sessions held in each period [BOUNDS[i], BOUNDS[i+1]) (one query, bucketed by CASE), in subtree PATH. When the
    periods are months, the ended ones are read from their stored counts."""
    months = session_counts.month_edges(bounds)
    stored = session_counts.ended_part(months) if months is not None else []
    if not stored:
        return _held_live(bounds, path, db=db)
    found = session_counts.held_by_month(db=db, months=stored, path=path)
    live = _held_live(bounds[len(stored):], path, db=db) if len(stored) < len(bounds) - 1 else []
    return [found.get(month, 0) for month in stored] + live


def _held_live(bounds: list[datetime], path: str, *, db: Session) -> list[int]:
    """Sessions held in each period [BOUNDS[i], BOUNDS[i+1]) counted in one query, bucketed by CASE."""
    bucket = case(*[(ReceptionSession.starts_at < bounds[i + 1], i) for i in range(len(bounds) - 1)], else_=-1)
    found: dict[int, int] = dict(db.execute(select(bucket, func.count())
                            .where(ReceptionSession.starts_at >= bounds[0], ReceptionSession.starts_at < bounds[-1],
                                   ReceptionSession.state == SessionState.ended,
                                   ReceptionSession.node_path.startswith(path, autoescape=True))
                            .group_by(bucket)).all())
    return [int(found.get(i, 0)) for i in range(len(bounds) - 1)]
