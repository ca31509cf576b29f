"""Supervision of a matter's own statutory deadlines: a reminder before the due day, a warning on it, 督办 after it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from vreception.cases.access import among
from vreception.cases.deadlines import local_day
from vreception.models import Deadline, DeadlineState, Matter, MatterState, Node, Person, Role, RoleAssignment
from vreception.notify import emails_of_node, raise_once

# The periods a body owes (acceptance, handling, review decisions); the petitioner's request windows are not owed.
SUPERVISED = ("acceptance", "completion", "handling", "review_decision", "recheck_decision")
KIND_TEXT = {"acceptance": "受理告知期限", "completion": "交办办结期限", "handling": "办理期限", "review_decision": "复查期限",
             "recheck_decision": "复核期限"}
ENDED = (MatterState.closed, MatterState.final)
# The body that owes the step: the 复查/复核 body while it reviews, else the handling body.
OWING = func.coalesce(Matter.holding_node_id, Matter.handling_node_id)
MAX_OVERDUE = 200


def coordinator_emails(node_id: int, *, db: Session) -> str:
    """The e-mail addresses of the active coordinators of NODE_ID, comma-separated."""
    rows = db.scalars(select(Person.email).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                           .where(RoleAssignment.node_id == node_id, RoleAssignment.role == Role.coordinator,
                                  Person.active.is_(True), Person.email != ""))
    return ",".join(sorted(set(rows)))[:200]


def _stages(kind: str, due: date, today: date, reminder_days: int, unit: Node, number: str
            ) -> list[tuple[str, int, str]]:
    """The notices a deadline due on DUE owes on TODAY: (stage, recipient node, title)."""
    what = f"{number} {KIND_TEXT[kind]}"
    if due < today:
        # 督办 goes to the unit's superior (a county's city, a department's region); the unit is told it is overdue.
        return [("supervision", unit.parent_id or unit.id, f"【督办】{unit.name}：{what}已逾期（{due.isoformat()}）"),
                ("overdue", unit.id, f"【逾期】{what}（{due.isoformat()}）")]
    if due == today:
        return [("warning", unit.id, f"【预警】{what}今日到期")]
    if (due - today).days <= reminder_days:
        return [("reminder", unit.id, f"【提醒】{what}将于{due.month}月{due.day}日到期")]
    return []


def raise_deadline_notices(*, db: Session, at: datetime, reminder_days: int = 2) -> int:
    """Raise each due notice of every open statutory deadline once; safe to run any number of times."""
    today = local_day(at)
    found = db.execute(
        select(Deadline.id, Deadline.kind, Deadline.due_day, Matter.number, OWING)
        .join(Matter, Deadline.matter_id == Matter.id)
        .where(Deadline.state == DeadlineState.open, Deadline.kind.in_(SUPERVISED),
               Deadline.due_day <= today + timedelta(days=reminder_days), Matter.state.notin_(ENDED))
        .order_by(Deadline.id)).all()
    units = {n.id: n for n in db.scalars(select(Node).where(Node.id.in_({row[4] for row in found})))}
    raised = 0
    for deadline_id, kind, due, number, node_id in found:
        unit = units[node_id]
        for stage, recipient, title in _stages(kind, due, today, reminder_days, unit, number):
            email_to = coordinator_emails(recipient, db=db) if stage == "supervision" else emails_of_node(recipient,
                                                                                                            db=db)
            # The unique (subject, stage, node) row is the idempotency key: a second run inserts nothing.
            if raise_once(db=db, kind=f"deadline.{stage}", subject_type="deadline", subject_id=deadline_id,
                          stage=stage, node_id=recipient, title=title, body=title, email_to=email_to):
                raised += 1
    db.flush()
    return raised


def overdue_matters(*, db: Session, within: ColumnElement[bool], at: datetime, limit: int = MAX_OVERDUE,
                    narrow: bool = False) -> list[dict[str, Any]]:
    """Open matters matching WITHIN with a statutory deadline past its day, the most overdue first (NARROW: WITHIN is
    a county's subtree or smaller)."""
    today = local_day(at)
    query = (select(Matter.id, Matter.number, OWING, Deadline.kind, Deadline.due_day)
             .join(Deadline, Deadline.matter_id == Matter.id)
             .where(within, Deadline.state == DeadlineState.open, Deadline.kind.in_(SUPERVISED),
                    Deadline.due_day < today, Matter.state.notin_(ENDED)))
    if narrow:
        # A county's open matters are listed from the path index alone (it carries their state): their deadlines are
        # then read by matter, where each of its matters was read from the table first (a few thousand pages).
        query = query.where(among(Deadline.matter_id, select(Matter.id).where(within, Matter.state.notin_(ENDED))))
    found = db.execute(query.order_by(Deadline.due_day, Matter.id).limit(limit)).all()
    units = {n.id: n.name for n in db.scalars(select(Node).where(Node.id.in_({row[2] for row in found})))}
    return [{"matter_id": mid, "number": number, "unit": units[node_id], "kind": kind, "due_day": due,
             "days_over": (today - due).days} for mid, number, node_id, kind, due in found]
