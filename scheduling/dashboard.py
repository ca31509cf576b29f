"""What the coordinator's dashboard reads: sessions over their subtree, the lobby queue, tasks falling due, overdue
matters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from scheduling.access import manageable
from vreception.auth.access import Principal, subtree_filter
from vreception.cases import supervision
from vreception.clock import now
from vreception.models import Matter, Node, Person, Role, Task, TaskState
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionState

OFFICE = (Role.coordinator,)
ACTIVE_TASK = (TaskState.assigned, TaskState.accepted, TaskState.in_progress, TaskState.sent_back)
DUE_SOON = timedelta(days=3)
MAX_SESSIONS = 2000
MAX_TASKS = 200


def sessions_between(db: Session, principal: Principal, start: datetime, end: datetime) -> list[ReceptionSession]:
    """Sessions the coordinator manages overlapping [START, END), by start (filtered in SQL before the limit)."""
    query = (select(ReceptionSession)
             .where(ReceptionSession.starts_at < end, ReceptionSession.ends_at > start,
                    ReceptionSession.state != SessionState.cancelled, manageable(principal))
             .options(selectinload(ReceptionSession.participants))
             .order_by(ReceptionSession.starts_at, ReceptionSession.id).limit(MAX_SESSIONS))
    return list(db.scalars(query))


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


def due_tasks(db: Session, principal: Principal) -> tuple[list[Task], list[Task]]:
    """Overdue tasks and tasks due within three days, over the coordinator's subtree."""
    mine = select(Matter.id).where(subtree_filter(principal, Matter.handling_path, OFFICE))
    query = (select(Task).where(Task.state.in_(ACTIVE_TASK), Task.due_at < now() + DUE_SOON,
                                subtree_filter(principal, Task.unit_path, OFFICE) | Task.matter_id.in_(mine))
             .order_by(Task.due_at, Task.id).limit(MAX_TASKS))
    found = list(db.scalars(query))
    moment = now()
    return [t for t in found if t.due_at < moment], [t for t in found if t.due_at >= moment]


def task_context(db: Session, found: list[Task]) -> dict[str, Any]:
    """The units and matters the listed tasks name."""
    units = {n.id: n for n in db.scalars(select(Node).where(Node.id.in_({t.unit_node_id for t in found})))}
    matters = {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_({t.matter_id for t in found})))}
    return {"units": units, "task_matters": matters}


def overdue_matters(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """Matters of the coordinator's subtree whose statutory deadline (acceptance, handling, review) has passed."""
    return supervision.overdue_matters(db, within=subtree_filter(principal, Matter.handling_path, OFFICE), at=now())
