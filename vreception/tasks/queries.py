"""Reads of follow-up tasks for a principal: the paged list (filtered in SQL), attachments, what the pages show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, subtree_filter
from vreception.clock import now
from vreception.errors import Invalid
from vreception.models import Attachment, Matter, Node, Notification, Task, TaskState
from vreception.notify import inbox
from vreception.paging import Page, page_of
from vreception.tasks import TRANSITIONS, access
from vreception.tasks.jobs import ACTIVE
from vreception.tasks.views import AttachmentOut, TaskDetailOut, TaskOut, detail_of

UNIT_ACTIONS = ("accept", "start")
OFFICE_ACTIONS = ("verify", "send_back", "close")


def task_state(value: str | None) -> TaskState | None:
    """The task state named VALUE (None for none); 422 invalid for an unknown name."""
    if not value:
        return None
    try:
        return TaskState(value)
    except ValueError:
        raise Invalid("error.task_state_unknown", field="state") from None


def visible_tasks(principal: Principal, *, state: TaskState | None = None, overdue: bool | None = None,
                  unit_node_id: int | None = None, matter_id: int | None = None) -> Select[Any]:
    """The query of the tasks the principal may see, filtered, by due time."""
    query = select(Task).where(access.visible(principal))
    if state is not None:
        query = query.where(Task.state == state)
    if unit_node_id is not None:
        query = query.where(Task.unit_node_id == unit_node_id)
    if matter_id is not None:
        query = query.where(Task.matter_id == matter_id)
    if overdue is not None:
        late = Task.state.in_(ACTIVE) & (Task.due_at < now())
        query = query.where(late if overdue else ~late)
    return query.order_by(Task.due_at, Task.id)


def list_tasks(db: Session, *, principal: Principal, state: TaskState | None = None, overdue: bool | None = None,
               unit_node_id: int | None = None, matter_id: int | None = None, limit: int | None = None,
               cursor: str | None = None) -> Page[TaskOut]:
    """The tasks the principal may see, by due time, filtered and counted in SQL, one page at a time."""
    query = visible_tasks(principal, state=state, overdue=overdue, unit_node_id=unit_node_id, matter_id=matter_id)
    return page_of(db, query, limit=limit, cursor=cursor, item=TaskOut.from_task)


def attachments_of(db: Session, task_ids: Iterable[int]) -> dict[int, list[Attachment]]:
    """The attachments of TASK_IDS, by task, oldest first."""
    ids = list(task_ids)
    out: dict[int, list[Attachment]] = {}
    if ids:
        for a in db.scalars(select(Attachment).where(Attachment.task_id.in_(ids)).order_by(Attachment.id)):
            out.setdefault(a.task_id, []).append(a)
    return out


def task_detail(db: Session, *, principal: Principal, task: Task) -> TaskDetailOut:
    """A task with the attachments the principal may open (none for a supervisor who cannot read the matter)."""
    files = attachments_of(db, [task.id]).get(task.id, []) if access.can_open_files(db, principal, task) else []
    return detail_of(task, files)


def attachment_out(attachment: Attachment) -> AttachmentOut:
    """An attachment as the API shows it."""
    return AttachmentOut.model_validate(attachment)


def nodes_by_id(db: Session, node_ids: Iterable[int]) -> dict[int, Node]:
    """The nodes of NODE_IDS, by id."""
    ids = set(node_ids)
    return {n.id: n for n in db.scalars(select(Node).where(Node.id.in_(ids)))} if ids else {}


def matters_by_id(db: Session, matter_ids: Iterable[int]) -> dict[int, Matter]:
    """The matters of MATTER_IDS, by id."""
    ids = set(matter_ids)
    return {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_(ids)))} if ids else {}


def notices_for(db: Session, *, principal: Principal) -> list[Notification]:
    """The newest task notices (reminders, warnings, 督办) addressed to the principal's units and offices."""
    return inbox(db, within=subtree_filter(principal, Node.path, access.SUPERVISORS))


def task_page(db: Session, *, principal: Principal, task: Task) -> dict[str, Any]:
    """What the task page shows: the task, its unit and matter, attachments and the actions the principal may take."""
    unit, office = access.is_unit(db, principal, task), access.is_office(db, principal, task)
    return {"task": TaskOut.from_task(task), "unit": db.get(Node, task.unit_node_id),
            "matter": db.get(Matter, task.matter_id), "is_unit": unit, "is_office": office,
            "attachments": attachments_of(db, [task.id]).get(task.id, [])
            if access.can_open_files(db, principal, task) else [],
            "unit_actions": [a for a in UNIT_ACTIONS if unit and task.state in TRANSITIONS[a][0]],
            "office_actions": [a for a in OFFICE_ACTIONS if office and task.state in TRANSITIONS[a][0]],
            "can_report": unit and task.state in TRANSITIONS["report"][0]}
