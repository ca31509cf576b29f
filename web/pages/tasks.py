"""Task pages: a unit's tasks and the office's, reporting feedback with attachments, verifying, assigning."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import datetime, time, timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from vreception import tasks
from vreception.auth.access import require, subtree_filter
from vreception.errors import Forbidden, NotFound
from vreception.models import Attachment, Matter, Node, Role, Task
from vreception.notify import inbox
from web.api.matters import load_readable
from web.api.tasks import ASSIGNERS, is_office, is_unit, serve_attachment
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page, require_any, zone

router = APIRouter()
UNIT_ACTIONS = ("accept", "start")
OFFICE_ACTIONS = ("verify", "send_back", "close")


def attachments_of(session, task_ids: list[int]) -> dict[int, list[Attachment]]:
    """The attachments of TASK_IDS, by task."""
    out: dict[int, list[Attachment]] = {}
    if task_ids:
        for a in session.scalars(select(Attachment).where(Attachment.task_id.in_(task_ids)).order_by(Attachment.id)):
            out.setdefault(a.task_id, []).append(a)
    return out


def _task(session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("error.task_not_found", id=task_id)
    return task


@router.get("/tasks")
def task_list(request: Request, principal: User, session: DbSession):
    """A handler's unit tasks, or the tasks over an office's subtree, by due time."""
    require_any(principal, Role.handler, *ASSIGNERS)
    visible = subtree_filter(principal, Task.unit_path, (Role.handler, Role.coordinator, Role.leader))
    office = select(Matter.id).where(subtree_filter(principal, Matter.handling_path, ASSIGNERS))
    found = list(session.scalars(select(Task).where(visible | Task.matter_id.in_(office))
                                 .order_by(Task.due_at, Task.id).limit(500)))
    units = {n.id: n for n in session.scalars(select(Node).where(Node.id.in_({t.unit_node_id for t in found})))}
    matters = {m.id: m for m in session.scalars(select(Matter).where(Matter.id.in_({t.matter_id for t in found})))}
    notices = inbox(session, within=subtree_filter(principal, Node.path, (Role.handler, *ASSIGNERS)))
    return page(request, "tasks.html", principal, tasks=found, units=units, matters=matters,
                overdue={t.id for t in found if tasks.is_overdue(t)}, notices=notices,
                tz=ZoneInfo(request.app.state.settings.time_zone))


def task_context(session, principal, task: Task) -> dict:
    unit, office = is_unit(principal, session, task), is_office(principal, session, task)
    return {"task": task, "unit": session.get(Node, task.unit_node_id), "matter": session.get(Matter, task.matter_id),
            "is_unit": unit, "is_office": office, "overdue": tasks.is_overdue(task),
            "attachments": attachments_of(session, [task.id]).get(task.id, []),
            "unit_actions": [a for a in UNIT_ACTIONS if unit and task.state in tasks.TRANSITIONS[a][0]],
            "office_actions": [a for a in OFFICE_ACTIONS if office and task.state in tasks.TRANSITIONS[a][0]],
            "can_report": unit and task.state in tasks.TRANSITIONS["report"][0]}


def _visible_task(session, principal, task_id: int) -> Task:
    task = _task(session, task_id)
    if not (is_unit(principal, session, task) or is_office(principal, session, task)):
        raise Forbidden()
    return task


@router.get("/tasks/{task_id}")
def task_page(task_id: int, request: Request, principal: User, session: DbSession):
    """One task: what is asked, by when, the report form (unit) or the check buttons (office)."""
    task = _visible_task(session, principal, task_id)
    return page(request, "task.html", principal, max_bytes=request.app.state.settings.max_upload_bytes,
                **task_context(session, principal, task))


def _again(request, session, principal, task, error):
    session.refresh(task)
    return page(request, "task.html", principal, status_code=error.status, error=message(request, error),
                max_bytes=request.app.state.settings.max_upload_bytes, **task_context(session, principal, task))


@router.post("/tasks/{task_id}/move")
async def task_move(task_id: int, request: Request, principal: User, session: DbSession):
    """Accept or start (unit); verify, send back or close (office)."""
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token", 200))
    task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).first()
    if task is None:
        raise NotFound("error.task_not_found", id=task_id)
    action = forms.text(form, "action", 20)
    allowed = is_unit if tasks.who_acts(action) == "unit" else is_office
    if action == "report" or not allowed(principal, session, task):
        raise Forbidden()
    _, error = attempt(session, lambda: tasks.move(session, task=task, action=action, actor_id=principal.person_id,
                                                   text=forms.text(form, "text")))
    if error is not None:
        return _again(request, session, principal, task, error)
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


@router.post("/tasks/{task_id}/report")
async def task_report(task_id: int, request: Request, principal: User, session: DbSession):
    """Report the result (反馈) with attachments, all or nothing (each file within max_upload_bytes)."""
    settings = request.app.state.settings
    form = await request.form(max_files=tasks.MAX_ATTACHMENTS + 1)
    check_csrf(request, forms.text(form, "csrf_token", 200))
    task = _task(session, task_id)
    if not is_unit(principal, session, task):
        raise Forbidden()
    uploads = [f for f in form.getlist("files") if hasattr(f, "read") and f.filename]

    async def read_all():
        return [(f, await f.read(settings.max_upload_bytes + 1)) for f in uploads]

    files = await read_all()

    def do():
        tasks.move(session, task=task, action="report", actor_id=principal.person_id, text=forms.text(form, "text"))
        for upload, data in files:
            tasks.attach(session, task=task, filename=upload.filename, content_type=upload.content_type or "",
                         data=data, storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                         actor_id=principal.person_id)

    _, error = attempt(session, do)
    if error is not None:
        return _again(request, session, principal, task, error)
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


@router.post("/matters/{matter_id}/tasks")
async def assign_task(matter_id: int, request: Request, principal: User, session: DbSession):
    """Assign a follow-up task (交办) from the matter page; due at the end of the chosen day."""
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = session.get(Matter, matter_id)
    if matter is None:
        raise NotFound("error.matter_not_found", id=matter_id)
    require(principal, session.get(Node, matter.handling_node_id), ASSIGNERS)

    def do():
        due_day = forms.day(form, "due_day")
        if due_day is None:
            from vreception.errors import Invalid

            raise Invalid("error.invalid_field", field="due_day", reason="")
        due_at = datetime.combine(due_day + timedelta(days=1), time(0), zone(request)) - timedelta(seconds=1)
        return tasks.create(session, matter=matter, unit_node_id=forms.integer(form, "unit_node_id") or 0,
                            title=forms.text(form, "title", 300), due_at=due_at, detail=forms.text(form, "detail"),
                            actor_id=principal.person_id)

    _, error = attempt(session, do)
    if error is not None:
        from web.pages.matters import matter_context

        load_readable(session, principal, matter.id)
        return page(request, "matter.html", principal, status_code=error.status, error=message(request, error),
                    **matter_context(request, session, principal, matter))
    return RedirectResponse(f"/matters/{matter.id}#h-tasks", status_code=303)


@router.get("/attachments/{attachment_id}")
def attachment(attachment_id: int, request: Request, principal: User, session: DbSession):
    """Download an attachment (audited), for the unit, the office or a reader of the matter."""
    return serve_attachment(request, session, principal, attachment_id)
