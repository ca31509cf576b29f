"""Follow-up tasks: assign on a matter, list by unit, move through their states, attach files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from vreception import audit, tasks
from vreception.auth.access import covers, require, subtree_filter
from vreception.clock import now
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.models import Attachment, Matter, Node, Role, Task, TaskState
from web.api.matters import load_readable, task_out
from web.deps import ApiPrincipal, DbSession

router = APIRouter(tags=["tasks"])
ASSIGNERS = (Role.coordinator, Role.leader)


class TaskIn(BaseModel):
    unit_node_id: int
    title: str = Field(max_length=200)
    due_at: datetime
    detail: str = Field(default="", max_length=10_000)
    session_id: int | None = None


class TaskPatch(BaseModel):
    action: str = Field(max_length=20)
    text: str = Field(default="", max_length=10_000)


def _task(session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("error.task_not_found", id=task_id)
    return task


def is_unit(principal, session, task: Task) -> bool:
    """Whether the caller works in the task's unit (handler over it)."""
    return covers(principal, session.get(Node, task.unit_node_id), (Role.handler,))


def is_office(principal, session, task: Task) -> bool:
    """Whether the caller is of the office that assigned it (coordinator or leader over the matter)."""
    matter = session.get(Matter, task.matter_id)
    return covers(principal, session.get(Node, matter.handling_node_id), ASSIGNERS)


@router.post("/matters/{matter_id}/tasks", status_code=201)
def create_task(matter_id: int, body: TaskIn, principal: ApiPrincipal, session: DbSession) -> dict:
    """Assign a follow-up task (交办) to a unit."""
    matter = session.get(Matter, matter_id)
    if matter is None:
        raise NotFound("error.matter_not_found", id=matter_id)
    require(principal, session.get(Node, matter.handling_node_id), ASSIGNERS)
    task = tasks.create(session, matter=matter, unit_node_id=body.unit_node_id, title=body.title, due_at=body.due_at,
                        detail=body.detail, actor_id=principal.person_id, session_id=body.session_id)
    return task_out(task)


@router.get("/tasks")
def list_tasks(principal: ApiPrincipal, session: DbSession, state: str | None = None, overdue: bool | None = None,
               unit_node_id: int | None = None, matter_id: int | None = None) -> list[dict]:
    """Tasks the caller may see: a handler its unit's, the office those of its subtree."""
    visible = subtree_filter(principal, Task.unit_path, (Role.handler, Role.coordinator, Role.leader))
    office = select(Matter.id).where(subtree_filter(principal, Matter.handling_path, ASSIGNERS))
    query = select(Task).where(visible | Task.matter_id.in_(office)).order_by(Task.due_at, Task.id)
    if state:
        try:
            query = query.where(Task.state == TaskState(state))
        except ValueError:
            raise Invalid("error.task_state_unknown", field="state") from None
    if unit_node_id is not None:
        query = query.where(Task.unit_node_id == unit_node_id)
    if matter_id is not None:
        query = query.where(Task.matter_id == matter_id)
    if overdue is not None:
        active = (TaskState.assigned, TaskState.accepted, TaskState.in_progress, TaskState.sent_back)
        late = Task.state.in_(active) & (Task.due_at < now())
        query = query.where(late if overdue else ~late)
    return [task_out(t) for t in session.scalars(query.limit(1000))]


@router.get("/tasks/{task_id}")
def get_task(task_id: int, principal: ApiPrincipal, session: DbSession) -> dict:
    task = _task(session, task_id)
    if not (is_unit(principal, session, task) or is_office(principal, session, task)):
        raise Forbidden()
    out = task_out(task)
    out["attachments"] = [{"id": a.id, "filename": a.filename, "bytes": a.bytes, "sha256": a.sha256,
                           "url": f"/api/v1/attachments/{a.id}"}
                          for a in session.scalars(select(Attachment).where(Attachment.task_id == task.id))]
    return out


@router.patch("/tasks/{task_id}")
def patch_task(task_id: int, body: TaskPatch, principal: ApiPrincipal, session: DbSession) -> dict:
    """Move a task: the unit accepts, starts, reports (反馈); the office verifies, sends back, closes."""
    task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).first()
    if task is None:
        raise NotFound("error.task_not_found", id=task_id)
    allowed = is_unit if tasks.who_acts(body.action) == "unit" else is_office
    if not allowed(principal, session, task):
        raise Forbidden()
    tasks.move(session, task=task, action=body.action, actor_id=principal.person_id, text=body.text)
    return task_out(task)


@router.post("/tasks/{task_id}/attachments", status_code=201)
async def add_attachment(task_id: int, file: UploadFile, request: Request, principal: ApiPrincipal,
                         session: DbSession) -> dict:
    """Attach a file to the task's report (size bounded by VRECEPTION_MAX_UPLOAD_BYTES)."""
    task = _task(session, task_id)
    if not is_unit(principal, session, task):
        raise Forbidden()
    settings = request.app.state.settings
    data = await file.read(settings.max_upload_bytes + 1)
    attachment = tasks.attach(session, task=task, filename=file.filename or "file", content_type=file.content_type or "",
                              data=data, storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                              actor_id=principal.person_id)
    return {"id": attachment.id, "filename": attachment.filename, "bytes": attachment.bytes, "sha256": attachment.sha256}


@router.get("/attachments/{attachment_id}")
def get_attachment(attachment_id: int, request: Request, principal: ApiPrincipal, session: DbSession):
    """Download an attachment (audited)."""
    return serve_attachment(request, session, principal, attachment_id)


def serve_attachment(request: Request, session, principal, attachment_id: int) -> FileResponse:
    """An attachment for the unit, the office or a reader of the matter; every download is audited."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("error.not_found")
    task = session.get(Task, attachment.task_id)
    if not (is_unit(principal, session, task) or is_office(principal, session, task)):
        load_readable(session, principal, task.matter_id)
    audit.record(session, action="attachment.downloaded", entity_type="attachment", entity_id=attachment.id,
                 actor_id=principal.person_id)
    path = Path(request.app.state.settings.data_dir) / attachment.storage_key
    return FileResponse(path, media_type=attachment.content_type, filename=attachment.filename)
