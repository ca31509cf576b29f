"""Follow-up tasks: assign on a matter, list by unit, move through their states, attach files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from vreception import tasks
from vreception.cases import access as matter_access
from vreception.models import TaskState
from vreception.paging import MAX_LIMIT, Page
from vreception.tasks import access, queries
from vreception.tasks.views import AttachmentOut, TaskDetailOut, TaskOut
from web.deps import ApiPrincipal, DbSession
from web.downloads import attachment_download
from web.openapi import responses
from web.settings import AppSettings

router = APIRouter(tags=["tasks"])


class TaskIn(BaseModel):
    unit_node_id: int
    title: str = Field(max_length=200)
    due_at: datetime
    detail: str = Field(default="", max_length=10_000)
    session_id: int | None = None


class TaskPatch(BaseModel):
    action: str = Field(max_length=20, description="accept, start, report (unit); verify, send_back, close (office)")
    text: str = Field(default="", max_length=10_000, description="the report (反馈) or why it is sent back")


@router.post("/matters/{matter_id}/tasks", status_code=201, response_model=TaskOut,
             responses=responses(403, 404, 422, s404="matter_not_found, node_not_found"))
def create_task(matter_id: int, body: TaskIn, principal: ApiPrincipal, db: DbSession) -> TaskOut:
    """Assign a follow-up task (交办) to a unit inside the assigner's own subtree."""
    matter = matter_access.load(matter_id, db=db)
    access.require_can_assign(principal, matter, body.unit_node_id, db=db)
    task = tasks.create(db=db, matter=matter, unit_node_id=body.unit_node_id, title=body.title, due_at=body.due_at,
                        detail=body.detail, actor_id=principal.person_id, session_id=body.session_id)
    return TaskOut.from_task(task)


@router.get("/tasks", response_model=Page[TaskOut], responses=responses(422))
def list_tasks(principal: ApiPrincipal, db: DbSession, state: TaskState | None = None,
               overdue: bool | None = None, unit_node_id: int | None = None, matter_id: int | None = None,
               limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
               cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[TaskOut]:
    """Tasks the caller may see (a handler its unit's, the office those of its subtree), by due time, paged."""
    return queries.list_tasks(db=db, principal=principal, state=state, overdue=overdue, unit_node_id=unit_node_id,
                              matter_id=matter_id, limit=limit, cursor=cursor)


@router.get("/tasks/{task_id}", response_model=TaskDetailOut,
            responses=responses(403, 404, 422, s404="task_not_found"))
def get_task(task_id: int, principal: ApiPrincipal, db: DbSession) -> TaskDetailOut:
    """One task with its attachments (listed for the unit, the office and readers of the matter)."""
    return queries.task_detail(db=db, principal=principal, task=access.load_visible(principal, task_id, db=db))


@router.patch("/tasks/{task_id}", response_model=TaskOut,
              responses=responses(403, 404, 409, 422, s404="task_not_found", s409="illegal_transition"))
def patch_task(task_id: int, body: TaskPatch, principal: ApiPrincipal, db: DbSession) -> TaskOut:
    """Move a task: the unit accepts, starts, reports (反馈); the office verifies, sends back, closes."""
    task = access.load_for_action(principal, task_id, body.action, db=db)
    tasks.move(db=db, task=task, action=body.action, actor_id=principal.person_id, text=body.text)
    return TaskOut.from_task(task)


@router.post("/tasks/{task_id}/attachments", status_code=201, response_model=AttachmentOut,
             responses=responses(403, 404, 422, s404="task_not_found"))
def add_attachment(task_id: int, file: UploadFile, principal: ApiPrincipal, db: DbSession,
                         settings: AppSettings) -> AttachmentOut:
    """Attach a file to the task's report (size bounded by VRECEPTION_MAX_UPLOAD_BYTES)."""
    task = access.load_for_unit(principal, task_id, db=db)
    data = file.file.read(settings.max_upload_bytes + 1)
    attachment = tasks.attach(db=db, task=task, filename=file.filename or "file",
                              content_type=file.content_type or "", data=data, storage_dir=Path(settings.data_dir),
                              max_bytes=settings.max_upload_bytes, actor_id=principal.person_id)
    return queries.attachment_out(attachment)


_FILE: dict[int | str, dict[str, Any]] = {200: {
    "description": "the file: images and PDFs (by their bytes) inline, anything else as an application/octet-stream "
                   "download; always X-Content-Type-Options: nosniff",
    "content": {"application/octet-stream": {}}}}


@router.get("/attachments/{attachment_id}", response_class=FileResponse,
            responses=_FILE | responses(403, 404, 422))
def get_attachment(attachment_id: int, principal: ApiPrincipal, db: DbSession, settings: AppSettings):
    """Download an attachment (audited)."""
    return attachment_download(principal, attachment_id, db=db, data_dir=settings.data_dir)
