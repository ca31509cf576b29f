"""What the coordinator's dashboard reads: sessions over their subtree, the lobby queue, tasks falling due, overdue
matters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from scheduling.access import manageable
from scheduling.queries import overlapping
from vreception.auth.access import Principal, subtree_filter
from vreception.cases import supervision
from vreception.cases.access import broad, readable
from vreception.cases.actions import OPEN_STATES
from vreception.clock import now
from vreception.models import Matter, MatterState, Node, Person, Role, Task
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionState
from vreception.models.tasks import ACTIVE_TASK_STATES
from vreception.paging import COUNT_CAP, bounded_count, fetch

T = TypeVar("T")

OFFICE = (Role.coordinator,)
ACTIVE_TASK = ACTIVE_TASK_STATES
DUE_SOON = timedelta(days=3)
# Rows per page of each dashboard list; the rest are a "更多…" link away (issue 10: nothing silently cut).
MAX_SESSIONS = 100
MAX_TASKS = 50


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


def sessions_between(principal: Principal, start: datetime, end: datetime, *, db: Session,
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
    found, total, following = fetch(query, db=db, limit=limit or MAX_SESSIONS, cursor=cursor)
    return Listed(found, total, following)


def rows(principal: Principal, found: list[ReceptionSession], *, db: Session) -> list[dict[str, Any]]:
    """Each session with its leader, matter, rooms, and whether the coordinator has a seat to take."""
    leaders = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_({s.leader_id for s in found})))}
    matter_ids = {s.matter_id for s in found if s.matter_id}
    matters: dict[int | None, Any] = _numbers(matter_ids, db=db)
    # Every listed session is managed by the coordinator, so a seat is there to take (their own or a new one).
    return [{"session": s, "leader": leaders.get(s.leader_id), "matter": matters.get(s.matter_id),
             "rooms": "、".join(p.name for p in s.participants if p.room_id),
             "seat": True} for s in found]


def arrivals(session_ids: list[int], *, db: Session) -> dict[int, datetime]:
    """When each session was opened by its room (its history says): the queue's order of arrival."""
    if not session_ids:
        return {}
    rows = db.execute(select(SessionEvent.session_id, func.min(SessionEvent.at))
                      .where(SessionEvent.session_id.in_(session_ids), SessionEvent.action == "state:open")
                      .group_by(SessionEvent.session_id)).all()
    return {session_id: at for session_id, at in rows}


def due_tasks(principal: Principal, *, db: Session, overdue: bool, limit: int | None = None,
              cursor: str | None = None) -> Listed[Task]:
    """Overdue tasks, or tasks due within three days, over the coordinator's subtree, by due time, a page at a time."""
    # Correlated, so that it is asked only of the due tasks found (a province's IN-list would read every matter). A
    # province's or a city's office reads each task's matter path by its key: as an EXISTS it was planned as a hashed
    # scan of every matter.
    if any(broad(path) for path in principal.paths_for(OFFICE)):
        path = select(Matter.handling_path).where(Matter.id == Task.matter_id).scalar_subquery()
        mine = subtree_filter(principal, path, OFFICE)
    else:
        # The county's matters (from the path index alone) hashed once: the due-time index of the active tasks carries
        # each one's unit path and matter (0026), so the walk checks both without reading a task. (A correlated EXISTS
        # read each one's matter; an array of the county's 8,000 ids was searched whole for every task, 345 ms.)
        mine = Task.matter_id.in_(select(Matter.id).where(subtree_filter(principal, Matter.handling_path, OFFICE)))
    moment = now()
    due = Task.due_at < moment if overdue else (Task.due_at >= moment) & (Task.due_at < moment + DUE_SOON)
    query = (select(Task).where(Task.state.in_(ACTIVE_TASK), due,
                                subtree_filter(principal, Task.unit_path, OFFICE) | mine)
             .order_by(Task.due_at, Task.id))
    # Counted up to the cap along the due-time order (a province's backlog is not walked whole for a heading).
    total, _ = bounded_count(query, db=db)
    # The page's ids from the index alone, then its tasks by key: an index scan reads every task it walks past from
    # the table before filtering it (a county's overdue page walked 6,000 of the province's, 45 ms at 1M matters).
    ids, total, following = fetch(query.with_only_columns(Task.id), db=db, total=total, limit=limit or MAX_TASKS,
                                  cursor=cursor)
    tasks = {task.id: task for task in db.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
    return Listed([tasks[i] for i in ids if i in tasks], total, following)


def state_counts(principal: Principal, *, db: Session, cap: int = COUNT_CAP) -> list[tuple[str, int | str]]:
    """How many of the matters the principal may read are in each open state, in the order of the procedure, each
    counted up to CAP ("10000+" beyond): one statement of capped counts."""
    wanted = [state for state in MatterState if state in OPEN_STATES]
    parts = [select(literal(state.value).label("state"), func.count().label("n"))
             .select_from(select(Matter.id).where(readable(principal), Matter.state == state)
                          .limit(cap + 1).subquery()) for state in wanted]
    found = {state: int(n) for state, n in db.execute(union_all(*parts)).all()}
    return [(state.value, f"{cap}+" if found[state.value] > cap else found[state.value])
            for state in wanted if found.get(state.value)]


def task_context(found: list[Task], *, db: Session) -> dict[str, Any]:
    """The units and matters the listed tasks name."""
    units = {n.id: n for n in db.scalars(select(Node).where(Node.id.in_({t.unit_node_id for t in found})))}
    return {"units": units, "task_matters": _numbers({t.matter_id for t in found}, db=db)}


def _numbers(matter_ids: set[int], *, db: Session) -> dict[int | None, Any]:
    """The id and number of each of MATTER_IDS (all a list shows): rows, not matters loaded with their petitioners,
    demands and deadlines."""
    if not matter_ids:
        return {}
    return {row.id: row for row in db.execute(select(Matter.id, Matter.number).where(Matter.id.in_(matter_ids)))}


def overdue_matters(principal: Principal, *, db: Session) -> list[dict[str, Any]]:
    """Matters of the coordinator's subtree whose statutory deadline (acceptance, handling, review) has passed."""
    narrow = not any(broad(path) for path in principal.paths_for(OFFICE))
    return supervision.overdue_matters(db=db, within=subtree_filter(principal, Matter.handling_path, OFFICE), at=now(),
                                       narrow=narrow)
