"""Follow-up tasks (交办 → 落实 → 反馈 → 跟进) on a matter, assigned to a department with a due time."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.errors import IllegalTransition
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.i18n import Msg
from vreception.models import Attachment, Matter, MatterEvent, Node, Task, TaskState
from vreception.models.scheduling import ReceptionSession

T = TaskState
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_ATTACHMENTS = 10
# Who moves a task from where: the unit (handler) works it, the assigning office checks it.
TRANSITIONS = {
    "accept": ({T.assigned, T.sent_back}, T.accepted, "unit"),
    "start": ({T.accepted}, T.in_progress, "unit"),
    "report": ({T.assigned, T.accepted, T.in_progress, T.sent_back}, T.reported, "unit"),
    "verify": ({T.reported}, T.verified, "office"),
    "send_back": ({T.reported}, T.sent_back, "office"),
    "close": ({T.verified}, T.closed, "office"),
}


def is_overdue(task: Task, at: datetime | None = None) -> bool:
    """Overdue: past due and not yet reported, verified or closed."""
    return task.state in (T.assigned, T.accepted, T.in_progress, T.sent_back) and (at or now()) > task.due_at


def create(*, db: Session, matter: Matter, unit_node_id: int, title: str, due_at: datetime,
           detail: str = "", actor_id: int | None = None, session_id: int | None = None) -> Task:
    """Assign a follow-up task on MATTER to a unit (交办)."""
    unit = db.get(Node, unit_node_id)
    if unit is None:
        raise NotFound("error.node_not_found", field="unit_node_id", id=unit_node_id)
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise Invalid("error.task_title", field="title", max=MAX_TITLE)
    if len(detail or "") > MAX_TEXT:
        raise Invalid("error.text_too_long", field="detail", max=MAX_TEXT)
    if due_at.tzinfo is None:
        raise Invalid("error.time_zone_required", field="due_at")
    if due_at <= now():
        raise Invalid("error.due_in_past", field="due_at")
    if session_id is not None:
        # A task from a call names that call: it must be a session of this very matter.
        booked = db.get(ReceptionSession, session_id)
        if booked is None or booked.matter_id != matter.id:
            raise Invalid("error.task_session", field="session_id", id=session_id)
    task = Task(matter_id=matter.id, session_id=session_id, unit_node_id=unit.id, unit_path=unit.path, title=title,
                detail=detail or "", due_at=due_at, state=T.assigned, created_by=actor_id)
    db.add(task)
    db.flush()
    _event(task, "task.assigned", actor_id, {"unit": unit.name, "due_at": due_at.isoformat()}, db=db)
    return task


def _event(task: Task, action: str, actor_id: int | None, data: dict[str, Any], reason: str = "",
           *, db: Session) -> None:
    import json

    db.add(MatterEvent(matter_id=task.matter_id, actor_id=actor_id, action=action, reason=reason,
                            data=json.dumps({"task_id": task.id, "title": task.title, **data}, ensure_ascii=False)))
    audit.record(db=db, action=action, entity_type="task", entity_id=task.id, actor_id=actor_id,
                 data={"matter_id": task.matter_id, "state": task.state.value, **data})


def move(*, db: Session, task: Task, action: str, actor_id: int | None, text: str = "") -> Task:
    """Take ACTION on TASK (accept, start, report, verify, send_back, close)."""
    if action not in TRANSITIONS:
        raise Invalid("error.action_unknown", field="action", action=action)
    sources, target, _who = TRANSITIONS[action]
    if task.state not in sources:
        raise IllegalTransition("error.illegal_task_transition", action=Msg(f"task_action.{action}"),
                                state=Msg(f"task_state.{task.state.value}"))
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise Invalid("error.text_too_long", field="text", max=MAX_TEXT)
    moment = now()
    if action == "report":
        if not text:
            raise Invalid("error.feedback_required", field="feedback")
        task.feedback, task.reported_at = text, moment
    elif action == "send_back":
        if not text:
            raise Invalid("error.reason_required", field="reason")
        task.note = text
    elif action == "verify":
        task.verified_at = moment
    elif action == "close":
        task.closed_at = moment
    before = task.state
    task.state = target
    db.flush()
    _event(task, f"task.{action}", actor_id, {"from": before.value, "to": target.value}, db=db, reason=text)
    return task


def who_acts(action: str) -> str:
    """'unit' when the handling department acts, 'office' when the assigning office does."""
    return TRANSITIONS[action][2] if action in TRANSITIONS else "office"


_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def attach(*, db: Session, task: Task, filename: str, content_type: str, data: bytes, storage_dir: Path,
           max_bytes: int, actor_id: int | None) -> Attachment:
    """Store an attachment of a task report, bounded in size and hashed."""
    if len(data) > max_bytes:
        raise Invalid("error.upload_too_large", field="file", max=max_bytes)
    if not data:
        raise Invalid("error.upload_empty", field="file")
    existing = db.query(Attachment).filter(Attachment.task_id == task.id).count()
    if existing >= MAX_ATTACHMENTS:
        raise Invalid("error.too_many_attachments", field="file", max=MAX_ATTACHMENTS)
    name = _SAFE_NAME.sub("_", Path(filename or "file").name)[-100:] or "file"
    key = f"attachments/{task.id}/{secrets.token_hex(8)}-{name}"
    path = storage_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    attachment = Attachment(task_id=task.id, filename=name, content_type=(content_type or "application/octet-stream")[:100],
                            bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                            uploaded_by=actor_id)
    db.add(attachment)
    db.flush()
    audit.record(db=db, action="task.attachment_added", entity_type="task", entity_id=task.id, actor_id=actor_id,
                 data={"attachment_id": attachment.id, "filename": name, "bytes": len(data), "sha256": attachment.sha256})
    return attachment
