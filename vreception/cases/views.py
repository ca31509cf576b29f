"""Typed read models of a matter (信访事项), shared by the JSON API and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vreception.tasks.views import TaskOut


class ReadModel(BaseModel):
    """A read model built from ORM rows or plain values."""

    model_config = ConfigDict(from_attributes=True)


class PetitionerOut(ReadModel):
    id: int
    name: str
    representative: bool
    id_number: str = Field(description="in full for the handling office, masked for everyone else")
    phone: str


class DemandOut(ReadModel):
    id: int
    summary: str
    category: str
    legal_channel: str | None


class DeadlineOut(ReadModel):
    kind: str
    start: date
    due: date
    due_at: datetime = Field(description="the end of the due day, local time")
    state: str
    provisional: bool = Field(description="computed on weekends only: the year's official calendar is not loaded")
    extra_days: int


class RepeatOut(ReadModel):
    id: int
    number: str
    state: str
    similarity: int


class ActionOut(ReadModel):
    action: str
    starts: str | None = Field(description="the deadline this action starts, if any")


class DocumentOut(ReadModel):
    id: int
    kind: str
    title: str
    number: str
    issued_at: datetime
    served_at: datetime | None
    sha256: str
    html_url: str
    pdf_url: str


class DocumentDetailOut(DocumentOut):
    matter_id: int
    intact: bool = Field(description="whether the stored text still has its recorded hash")


class RecordingSummary(ReadModel):
    id: int
    state: str
    duration_s: float | None
    bytes: int | None
    sha256: str | None
    url: str


class MatterRecording(RecordingSummary):
    session_id: int


class SessionSummary(ReadModel):
    id: int
    kind: str
    state: str
    start: datetime
    end: datetime
    leader_id: int
    recorded: bool
    recordings: list[RecordingSummary]


class TimelineEvent(ReadModel):
    at: datetime
    action: str
    from_state: str | None = Field(serialization_alias="from")
    to: str | None
    reason: str | None
    actor_id: int | None
    data: dict[str, Any]


class MatterOut(ReadModel):
    """A matter with its deadlines, tasks, documents, sessions, recordings and timeline."""

    id: int
    number: str
    state: str
    outcome: str | None
    channel: str
    is_group: bool
    origin_node_id: int
    handling_node_id: int
    owner_leader_id: int | None
    received_at: datetime
    registered_at: datetime
    extended: bool
    rating: str | None
    possible_repeat: bool
    possible_repeats: list[RepeatOut]
    petitioners: list[PetitionerOut]
    demands: list[DemandOut]
    deadlines: dict[str, DeadlineOut] = Field(description="the deadlines in force, by kind")
    deadline_history: list[DeadlineOut]
    allowed_actions: list[ActionOut]
    tasks: list[TaskOut]
    documents: list[DocumentOut]
    sessions: list[SessionSummary]
    recordings: list[MatterRecording]
    timeline: list[TimelineEvent]


class RegisteredMatterOut(MatterOut):
    """The answer to registration: the matter and its query code (查询码), shown this once."""

    query_code: str


class MatterListItem(ReadModel):
    """A matter as lists show it."""

    id: int
    number: str
    state: str
    handling_node_id: int
    owner_leader_id: int | None
    received_at: datetime
    possible_repeat: bool
    summary: str
    petitioner: str
    next_deadline: DeadlineOut | None
