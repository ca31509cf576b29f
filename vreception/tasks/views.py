"""Typed read models of follow-up tasks (交办任务) and their attachments, shared by the JSON API and the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vreception.models import Attachment, Task


class TaskOut(BaseModel):
    """A follow-up task as the API and the pages show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    matter_id: int
    session_id: int | None = Field(description="the reception session it was assigned in, if any")
    unit_node_id: int
    title: str
    detail: str
    due_at: datetime
    state: str = Field(description="assigned, accepted, in_progress, reported, verified, sent_back or closed")
    overdue: bool = Field(description="past due and not yet reported, verified or closed")
    feedback: str
    note: str = Field(description="why the office sent the report back")
    reported_at: datetime | None
    verified_at: datetime | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_task(cls, data: Any) -> Any:
        # "overdue" is derived from the clock, not stored.
        if isinstance(data, Task):
            from vreception.tasks import is_overdue

            return {name: getattr(data, name) for name in TaskOut.model_fields if name != "overdue"} | {
                "overdue": is_overdue(data)}
        return data

    @classmethod
    def from_task(cls, task: Task) -> TaskOut:
        """The read model of TASK."""
        return cls.model_validate(task)


class AttachmentOut(BaseModel):
    """A file attached to a task report; `url` downloads it (API)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    bytes: int
    sha256: str
    url: str

    @model_validator(mode="before")
    @classmethod
    def _from_attachment(cls, data: Any) -> Any:
        if isinstance(data, Attachment):
            return {"id": data.id, "filename": data.filename, "bytes": data.bytes, "sha256": data.sha256,
                    "url": f"/api/v1/attachments/{data.id}"}
        return data


class TaskDetailOut(TaskOut):
    """A task with its attachments."""

    attachments: list[AttachmentOut]


def detail_of(task: Task, attachments: list[Attachment]) -> TaskDetailOut:
    """The detail view of TASK with its ATTACHMENTS."""
    base = TaskOut.model_validate(task).model_dump()
    return TaskDetailOut.model_validate(base | {"attachments": [AttachmentOut.model_validate(a) for a in attachments]})
