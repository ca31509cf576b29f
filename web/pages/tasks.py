"""Task pages: a unit's tasks and the office's, reporting feedback with attachments, verifying."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from vreception import tasks
from vreception.errors import DomainError, Forbidden
from vreception.models import Task
from vreception.tasks import access, queries
from web.deps import DbSession
from web.downloads import attachment_download
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page, require_any, zone
from web.settings import AppSettings

router = APIRouter()
PAGE_SIZE = 100


@router.get("/tasks")
def task_list(request: Request, principal: User, db: DbSession, cursor: str | None = None):
    """A handler's unit tasks, or the tasks over an office's subtree, by due time, a page at a time."""
    require_any(principal, *access.SUPERVISORS)
    found = queries.list_tasks(db=db, principal=principal, limit=PAGE_SIZE, cursor=cursor)
    return page(request, "tasks.html", principal, tasks=found.items, total=found.total, total_capped=found.total_capped,
                next_cursor=found.next,
                units=queries.nodes_by_id((t.unit_node_id for t in found.items), db=db),
                matters=queries.matters_by_id((t.matter_id for t in found.items), db=db),
                notices=queries.notices_for(db=db, principal=principal), tz=zone(request))


@router.get("/tasks/{task_id}")
def task_page(task_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings):
    """One task: what is asked, by when, the report form (unit) or the check buttons (office)."""
    task = access.load_visible(principal, task_id, db=db)
    return page(request, "task.html", principal, max_bytes=settings.max_upload_bytes,
                **queries.task_page(db=db, principal=principal, task=task))


def _again(request: Request, session, principal, task: Task, error: DomainError, max_bytes: int):
    session.refresh(task)
    return page(request, "task.html", principal, status_code=error.status, error=message(request, error),
                max_bytes=max_bytes, **queries.task_page(db=session, principal=principal, task=task))


@router.post("/tasks/{task_id}/move")
def task_move(task_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession, settings: AppSettings):
    """Accept or start (unit); verify, send back or close (office)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    action = forms.text(form, "action", 20)
    task = access.load_for_action(principal, task_id, action, db=db)
    if action == "report":  # a report comes with its text and files, through /report
        raise Forbidden()
    _, error = attempt(lambda: tasks.move(db=db, task=task, action=action, actor_id=principal.person_id,
                                                   text=forms.text(form, "text")), db=db)
    if error is not None:
        return _again(request, db, principal, task, error, settings.max_upload_bytes)
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


@router.post("/tasks/{task_id}/report")
def task_report(task_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
                settings: AppSettings):
    """Report the result (反馈) with attachments, all or nothing (each file within max_upload_bytes)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    task = access.load_for_unit(principal, task_id, db=db)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    files = [(f, f.file.read(settings.max_upload_bytes + 1)) for f in uploads]

    def do():
        tasks.move(db=db, task=task, action="report", actor_id=principal.person_id, text=forms.text(form, "text"))
        for upload, data in files:
            tasks.attach(db=db, task=task, filename=upload.filename or "file", content_type=upload.content_type or "",
                         data=data, storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                         actor_id=principal.person_id)

    _, error = attempt(do, db=db)
    if error is not None:
        return _again(request, db, principal, task, error, settings.max_upload_bytes)
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


@router.get("/attachments/{attachment_id}")
def attachment(attachment_id: int, principal: User, db: DbSession, settings: AppSettings):
    """Download an attachment (audited), for the unit, the office or a reader of the matter."""
    return attachment_download(principal, attachment_id, db=db, data_dir=settings.data_dir)
