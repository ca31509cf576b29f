"""Who may see or act on a follow-up task (交办任务) and its attachments: one rule for the API and the pages.

The unit (a handler over the task's unit node) works the task; the office (a coordinator or leader over
the matter's handling node) checks it. Coordinators and leaders over the unit also see it, to supervise
(督办) their own units.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, not_, or_, select
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, covers, subtree_filter
from vreception.cases import access as matter_access
from vreception.errors import Forbidden, NotFound
from vreception.models import Attachment, Matter, Node, Role, Task

UNIT = (Role.handler,)
OFFICE = matter_access.ASSIGNERS
SUPERVISORS = (Role.handler, *OFFICE)


def unit_node(task: Task, *, db: Session) -> Node:
    """The node of the unit the task is assigned to."""
    node = db.get(Node, task.unit_node_id)
    assert node is not None  # a foreign key
    return node


def is_unit(principal: Principal, task: Task, *, db: Session) -> bool:
    """Whether the principal works in the task's unit (a handler over it): accepts, starts, reports, attaches."""
    return covers(principal, unit_node(task, db=db), UNIT)


def is_office(principal: Principal, task: Task, *, db: Session) -> bool:
    """Whether the principal is of the office that assigned it (coordinator or leader over the matter)."""
    matter = matter_access.load(task.matter_id, db=db)
    return matter_access.is_assigner(principal, matter, db=db)


def can_see(principal: Principal, task: Task, *, db: Session) -> bool:
    """The unit, the office, or a coordinator or leader over the unit (same rule as `visible`)."""
    return covers(principal, unit_node(task, db=db), SUPERVISORS) or is_office(principal, task, db=db)


def can_open_files(principal: Principal, task: Task, *, db: Session) -> bool:
    """Attachments are evidence of the matter: the unit, the office or a reader of the matter (not mere supervisors)."""
    if is_unit(principal, task, db=db) or is_office(principal, task, db=db):
        return True
    return matter_access.can_read(principal, matter_access.load(task.matter_id, db=db), db=db)


def visible(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on Task: the tasks the principal may see (same rule as `can_see`)."""
    units = subtree_filter(principal, Task.unit_path, SUPERVISORS)
    office_paths = principal.paths_for(OFFICE)
    if not office_paths:
        # A unit's own list: no office arm, so the unit-path index alone answers (an OR with an empty subquery
        # made PostgreSQL scan every task ever assigned).
        return units
    if any(matter_access.broad(path) for path in office_paths):
        # A province or city office reads most tasks: its lists walk the due-time index and read each task's matter
        # path by its key, stopping at the page (the ids of its matters would be an array of a million, and an
        # EXISTS would be planned as a hashed scan of every matter).
        path = select(Matter.handling_path).where(Matter.id == Task.matter_id).scalar_subquery()
        return or_(units, subtree_filter(principal, path, OFFICE))
    # A county office and below: its matters are a few thousand ids, which the task-matter index takes beside the
    # unit-path index (BitmapOr), so neither arm reads the tasks table whole.
    return or_(units, matter_access.among(Task.matter_id, _office_matters(principal)))


def visible_parts(principal: Principal) -> list[tuple[ColumnElement[bool], SQLColumnExpression[Any] | None]]:
    """`visible` as disjoint conditions (the unit arm; the office's other tasks, found from its matters), each with the
    order a capped count of it should walk (None: the planner's choice, the unit-path index): a list counts them in
    turn and stops at its cap."""
    units = subtree_filter(principal, Task.unit_path, SUPERVISORS)
    # A whole installation's reader matches every task: counting along the due-time index stops at the cap, where
    # the planner, unordered, would take a sequential scan.
    key = Task.due_at if any(path.count("/") <= 2 for path in principal.paths_for(SUPERVISORS)) else None
    if not principal.paths_for(OFFICE):
        return [(units, key)]
    # The office's matters as an array (run once, through the path index): as a join under the count's LIMIT, the
    # planner hoped to meet them early in a sequential scan of matters.
    return [(units, key), (and_(not_(units), matter_access.among(Task.matter_id, _office_matters(principal))), None)]


def _office_matters(principal: Principal) -> Select[Any]:
    return select(Matter.id).where(subtree_filter(principal, Matter.handling_path, OFFICE))


def may_act(principal: Principal, task: Task, action: str, *, db: Session) -> bool:
    """Whether the principal may take ACTION: the unit's actions for the unit, the others for the office."""
    from vreception.tasks import who_acts

    return is_unit(principal, task, db=db) if who_acts(action) == "unit" else is_office(principal, task, db=db)


def load(task_id: int, *, db: Session, for_update: bool = False) -> Task:
    """A task by id (locked for a state change when FOR_UPDATE), or NotFound."""
    query = select(Task).where(Task.id == task_id)
    task = db.scalars(query.with_for_update() if for_update else query).first()
    if task is None:
        raise NotFound("error.task_not_found", id=task_id)
    return task


def load_visible(principal: Principal, task_id: int, *, db: Session) -> Task:
    """The task if the principal may see it; NotFound or Forbidden otherwise."""
    task = load(task_id, db=db)
    if not can_see(principal, task, db=db):
        raise Forbidden()
    return task


def load_for_action(principal: Principal, task_id: int, action: str, *, db: Session) -> Task:
    """The task, locked, if the principal may take ACTION on it; NotFound or Forbidden otherwise."""
    task = load(task_id, db=db, for_update=True)
    if not may_act(principal, task, action, db=db):
        raise Forbidden()
    return task


def load_for_unit(principal: Principal, task_id: int, *, db: Session) -> Task:
    """The task if the principal works in its unit (to report and attach files); NotFound or Forbidden otherwise."""
    task = load(task_id, db=db)
    if not is_unit(principal, task, db=db):
        raise Forbidden()
    return task


def require_can_assign(principal: Principal, matter: Matter, unit_node_id: int, *, db: Session) -> Node:
    """The unit for a task on MATTER: the assigner must be over the matter and over the unit; NotFound or Forbidden."""
    matter_access.require_assigner(principal, matter, db=db)
    unit = db.get(Node, unit_node_id)
    if unit is None:
        raise NotFound("error.node_not_found", field="unit_node_id", id=unit_node_id)
    # Without this, a task would hand the matter (and its recordings) to a unit the assigner has no say over.
    matter_access.require_unit_within_office(principal, unit, db=db)
    return unit


def load_attachment(principal: Principal, attachment_id: int, *, db: Session) -> tuple[Attachment, Task]:
    """An attachment and its task, for the unit, the office or a reader of the matter; else NotFound or Forbidden."""
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("error.not_found")
    task = load(attachment.task_id, db=db)
    if not can_open_files(principal, task, db=db):
        raise Forbidden()
    return attachment, task
