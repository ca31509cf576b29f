"""The task clock: reminders before the due day, a warning on it, supervision (督办) after it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.cases.deadlines import local_day
from vreception.models import Node, Task
from vreception.models.tasks import ACTIVE_TASK_STATES
from vreception.notify import emails_of_node, raise_once

ACTIVE = ACTIVE_TASK_STATES


def raise_task_notices(*, db: Session, at: datetime, reminder_days: int = 2) -> int:
    """Raise each due notice of every active task once; safe to run any number of times."""
    today = local_day(at)
    horizon = at + timedelta(days=reminder_days + 1)
    raised = 0
    for task in db.scalars(select(Task).where(Task.state.in_(ACTIVE), Task.due_at <= horizon)):
        due_day = local_day(task.due_at)
        unit = db.get(Node, task.unit_node_id)
        assert unit is not None  # a foreign key of the task
        stages: list[tuple[str, int, str]] = []
        if at > task.due_at:
            # Supervision goes to the unit's superior (a department's region, a region's parent).
            superior = unit.parent_id or unit.id
            stages.append(("supervision", superior, f"【督办】{unit.name}：{task.title} 已逾期"))
            stages.append(("overdue", unit.id, f"【逾期】{task.title}"))
        elif due_day == today:
            stages.append(("warning", unit.id, f"【预警】{task.title} 今日到期"))
        elif (due_day - today).days <= reminder_days:
            stages.append(("reminder", unit.id, f"【提醒】{task.title} 将于{due_day.month}月{due_day.day}日到期"))
        for stage, node_id, title in stages:
            if raise_once(db=db, kind=f"task.{stage}", subject_type="task", subject_id=task.id, stage=stage,
                          node_id=node_id, title=title, body=task.detail or task.title,
                          email_to=emails_of_node(node_id, db=db)):
                raised += 1
    db.flush()
    return raised
