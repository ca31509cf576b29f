"""Who acted on a matter (registered, decided, handled, reviewed it): none of them may chair or sit on its panel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.models import AuditEvent, Matter, MatterEvent, Task

# Matter actions that decide or handle it; serving a notice or naming an owner is clerical.
DECIDING = ("accept", "not_accept", "refuse_repeat", "transfer", "assign", "report_completion", "object_remit",
            "extend", "route_legal", "settle", "reply", "review_reply", "recheck_reply")


def acted_on(matter: Matter, *, db: Session) -> set[int]:
    """The people who registered, decided, handled (a task on it) or reviewed the matter, and its owner leader."""
    people = {matter.registered_by, matter.owner_leader_id}
    people |= set(db.scalars(select(MatterEvent.actor_id).where(MatterEvent.matter_id == matter.id,
                                                                MatterEvent.action.in_(DECIDING))))
    tasks = [str(t) for t in db.scalars(select(Task.id).where(Task.matter_id == matter.id))]
    people |= set(db.scalars(select(Task.created_by).where(Task.matter_id == matter.id)))
    if tasks:
        # Whoever accepted, reported or verified a task on the matter handled or reviewed it.
        people |= set(db.scalars(select(AuditEvent.actor_id).where(AuditEvent.entity_type == "task",
                                                                   AuditEvent.entity_id.in_(tasks))))
    return {p for p in people if p is not None}
