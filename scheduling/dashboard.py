"""What the coordinator's dashboard reads: sessions over their subtree, the lobby queue, tasks falling due, overdue
matters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from scheduling.access import manageable
from scheduling.queries import overlapping
from vreception.auth.access import Principal, subtree_filter
from vreception.cases import supervision
from vreception.clock import now
from vreception.models import Matter, Node, Person, Role, Task
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionState
from vreception.models.tasks import ACTIVE_TASK_STATES
from vreception.paging import fetch

T = TypeVar("T")

OFFICE = (Role.coordinator,)
ACTIVE_TASK = ACTIVE_TASK_STATES
DUE_SOON = timedelta(days=3)
# Rows per page of each dashboard list; the rest are a "更多…" link away (issue 10: nothing silently cut).
MAX_SESSIONS = 500
MAX_TASKS = 200


@dataclass
class Listed(Generic[T]):
    """One page of a dashboard list: its rows, how many the whole list holds, the next page's cursor."""

    items: list[T]
    total: int
    next: str | None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


def sessions_between(db: Session, principal: Principal, start: datetime, end: datetime, *,
                     state: SessionState | None = None, limit: int | None = None,
                     cursor: str | None = None) -> Listed[ReceptionSession]:
    """Sessions the coordinator manages overlapping [START, END), by start, a page at a time (filtered and counted
    in SQL before the limit)."""
    query = (select(ReceptionSession)
             .where(overlapping(start, end), ReceptionSession.state != SessionState.cancelled, manageable(principal))
             .options(selectinload(ReceptionSession.participants))
             .order_by(ReceptionSession.starts_at, ReceptionSession.id))
    if state is not None:
        query = query.where(ReceptionSession.state == state)
    found, total, following = fetch(db, query, limit=limit or MAX_SESSIONS, cursor=cursor)
    return Listed(found, total, following)


def rows(db: Session, principal: Principal, found: list[ReceptionSession]) -> list[dict[str, Any]]:
    """Each session with its leader, matter, rooms, and whether the coordinator has a seat to take."""
    leaders = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_({s.leader_id for s in found})))}
    matter_ids = {s.matter_id for s in found if s.matter_id}
    matters: dict[int | None, Matter] = (
        {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_(matter_ids)))} if matter_ids else {})
    # Every listed session is managed by the coordinator, so a seat is there to take (their own or a new one).
    return [{"session": s, "leader": leaders.get(s.leader_id), "matter": matters.get(s.matter_id),
             "rooms": "、".join(p.name for p in s.participants if p.room_id),
             "seat": True} for s in found]


def arrivals(db: Session, session_ids: list[int]) -> dict[int, datetime]:
    """When each session was opened by its room (its history says): the queue's order of arrival."""
    if not session_ids:
        return {}
    return dict(db.execute(select(SessionEvent.session_id, func.min(SessionEvent.at))
                           .where(SessionEvent.session_id.in_(session_ids), SessionEvent.action == "state:open")
                           .group_by(SessionEvent.session_id)).tuples().all())


def due_tasks(db: Session, principal: Principal, *, overdue: bool, limit: int | None = None,
              cursor: str | None = None) -> Listed[Task]:
    """Overdue tasks, or tasks due within three days, over the coordinator's subtree, by due time, a page at a time."""
    mine = select(Matter.id).where(subtree_filter(principal, Matter.handling_path, OFFICE))
    moment = now()
    due = Task.due_at < moment if overdue else (Task.due_at >= moment) & (Task.due_at < moment + DUE_SOON)
    query = (select(Task).where(Task.state.in_(ACTIVE_TASK), due,
                                subtree_filter(principal, Task.unit_path, OFFICE) | Task.matter_id.in_(mine))
             .order_by(Task.due_at, Task.id))
    found, total, following = fetch(db, query, limit=limit or MAX_TASKS, cursor=cursor)
    return Listed(found, total, following)


def task_context(db: Session, found: list[Task]) -> dict[str, Any]:
    """The units and matters the listed tasks name."""
    units = {n.id: n for n in db.scalars(select(Node).where(Node.id.in_({t.unit_node_id for t in found})))}
    matters = {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_({t.matter_id for t in found})))}
    return {"units": units, "task_matters": matters}


def overdue_matters(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """Matters of the coordinator's subtree whose statutory deadline (acceptance, handling, review) has passed."""
    return supervision.overdue_matters(db, within=subtree_filter(principal, Matter.handling_path, OFFICE), at=now())
