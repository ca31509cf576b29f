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
from vreception.paging import COUNT_CAP, Key, Page, after, bounded_count, check_limit, decode_keys, encode_keys, ordered
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


def list_tasks(*, db: Session, principal: Principal, state: TaskState | None = None, overdue: bool | None = None,
               unit_node_id: int | None = None, matter_id: int | None = None, limit: int | None = None,
               cursor: str | None = None) -> Page[TaskOut]:
    """The tasks the principal may see, filtered in SQL: the active ones by due time (the most pressing first), then
    the others most recently due first; keyset pages, the total counted up to paging.COUNT_CAP."""
    query = visible_tasks(principal, state=state, overdue=overdue, unit_node_id=unit_node_id,
                          matter_id=matter_id).order_by(None)
    size = check_limit(limit)
    phase, start = _cursor(cursor)
    total, capped = _count(principal, query, db=db)
    rows: list[Task] = []
    if phase == ACTIVE_PHASE:
        rows = _phase(query.where(Task.state.in_(ACTIVE)), ACTIVE_KEYS, start, size + 1, db=db)
        start = None
    if len(rows) <= size:
        rows += _phase(query.where(Task.state.notin_(ACTIVE)), DONE_KEYS, start, size + 1 - len(rows), db=db)
    following = None
    if len(rows) > size:
        last = rows[size - 1]
        following = encode_keys(ACTIVE_PHASE if last.state in ACTIVE else DONE_PHASE, [last.due_at, last.id])
    return Page[TaskOut](items=[TaskOut.from_task(t) for t in rows[:size]], total=total, total_capped=capped,
                         next=following)


def _count(principal: Principal, query: Select[Any], *, db: Session) -> tuple[int, bool]:
    # Part by part (the unit's tasks, then the office's others): a broad office reaches the cap along the unit-path
    # index alone and never looks for the others, whose search starts from the office's matters.
    total = 0
    for part, key in access.visible_parts(principal):
        counted = query.where(part) if key is None else query.where(part).order_by(key)
        found, more = bounded_count(counted, db=db, cap=COUNT_CAP - total)
        total += found
        if more:
            return COUNT_CAP, True
    return total, False


ACTIVE_PHASE, DONE_PHASE = "ta", "td"
ACTIVE_KEYS: list[Key] = [(Task.due_at, False), (Task.id, False)]
DONE_KEYS: list[Key] = [(Task.due_at, True), (Task.id, True)]


def _cursor(cursor: str | None) -> tuple[str, list[Any] | None]:
    # The phase is the cursor's tag: a page that ended among the finished tasks resumes there.
    if not cursor:
        return ACTIVE_PHASE, None
    for phase in (ACTIVE_PHASE, DONE_PHASE):
        try:
            return phase, decode_keys(phase, cursor, 2)
        except Invalid:
            continue
    raise Invalid("error.invalid_field", field="cursor", reason="")


def _phase(query: Select[Any], keys: list[Key], start: list[Any] | None, size: int, *, db: Session) -> list[Task]:
    if start is not None:
        query = query.where(after(keys, start))
    return list(db.scalars(ordered(query, keys).limit(size)))


def attachments_of(task_ids: Iterable[int], *, db: Session) -> dict[int, list[Attachment]]:
    """The attachments of TASK_IDS, by task, oldest first."""
    ids = list(task_ids)
    out: dict[int, list[Attachment]] = {}
    if ids:
        for a in db.scalars(select(Attachment).where(Attachment.task_id.in_(ids)).order_by(Attachment.id)):
            out.setdefault(a.task_id, []).append(a)
    return out


def task_detail(*, db: Session, principal: Principal, task: Task) -> TaskDetailOut:
    """A task with the attachments the principal may open (none for a supervisor who cannot read the matter)."""
    files = attachments_of([task.id], db=db).get(task.id, []) if access.can_open_files(principal, task, db=db) else []
    return detail_of(task, files)


def attachment_out(attachment: Attachment) -> AttachmentOut:
    """An attachment as the API shows it."""
    return AttachmentOut.model_validate(attachment)


def nodes_by_id(node_ids: Iterable[int], *, db: Session) -> dict[int, Node]:
    """The nodes of NODE_IDS, by id."""
    ids = set(node_ids)
    return {n.id: n for n in db.scalars(select(Node).where(Node.id.in_(ids)))} if ids else {}


def matters_by_id(matter_ids: Iterable[int], *, db: Session) -> dict[int, Matter]:
    """The matters of MATTER_IDS, by id."""
    ids = set(matter_ids)
    return {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_(ids)))} if ids else {}


def notices_for(*, db: Session, principal: Principal) -> list[Notification]:
    """The newest task notices (reminders, warnings, 督办) addressed to the principal's units and offices."""
    return inbox(db=db, within=subtree_filter(principal, Node.path, access.SUPERVISORS))


def task_page(*, db: Session, principal: Principal, task: Task) -> dict[str, Any]:
    """What the task page shows: the task, its unit and matter, attachments and the actions the principal may take."""
    unit, office = access.is_unit(principal, task, db=db), access.is_office(principal, task, db=db)
    return {"task": TaskOut.from_task(task), "unit": db.get(Node, task.unit_node_id),
            "matter": db.get(Matter, task.matter_id), "is_unit": unit, "is_office": office,
            "attachments": attachments_of([task.id], db=db).get(task.id, [])
            if access.can_open_files(principal, task, db=db) else [],
            "unit_actions": [a for a in UNIT_ACTIONS if unit and task.state in TRANSITIONS[a][0]],
            "office_actions": [a for a in OFFICE_ACTIONS if office and task.state in TRANSITIONS[a][0]],
            "can_report": unit and task.state in TRANSITIONS["report"][0]}
