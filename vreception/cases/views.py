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
    kind: str = Field(default="citizen", description="citizen, legal_person or organisation")
    address: str = Field(default="", description="for the handling office only")
    identified: bool = Field(default=True, description="whether an ID number or a credit code was given")


class DemandOut(ReadModel):
    id: int
    summary: str
    category: str
    legal_channel: str | None
    outcome: str | None = Field(default=None, description="the latest opinion's outcome for this demand: support, "
                                "explain or not_support")


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
    reason: str = Field(default="similar_demands", description="similar_demands or same_person")


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
    served_method: str | None = Field(default=None, description="送达: direct, mail or electronic")
    proof_source: str | None = Field(default=None, description="送达回证: scan or terminal_signature, if any")
    proof_sha256: str | None = Field(default=None, description="the SHA-256 of the proof of service, if any")
    sha256: str
    html_url: str
    pdf_url: str
    proof_url: str | None = Field(default=None, description="where to read the proof of service, if any (audited)")


class MaterialOut(ReadModel):
    """A file that came with the matter: attached at registration, or uploaded into one of its calls."""

    sha256: str
    item: str = Field(description="upload:MATTER:SHA256, showable in a call on the matter")
    filename: str
    content_type: str
    bytes: int
    pages: int
    source: str = Field(description="registration (登记附件) or call (uploaded during a reception)")
    session_id: int | None = Field(default=None, description="the call it was uploaded into, if any")
    uploaded_by: int | None
    uploaded_at: datetime
    url: str = Field(description="where to read it (every read is audited)")


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
    facts: str = Field(default="", description="事实和理由")
    accused_text: str = Field(default="", description="反映对象, as written")
    accused_node_id: int | None = Field(default=None, description="反映对象, when it is a unit")
    people_count: int = 1
    accusation: bool = Field(default=False, description="检举控告")
    confidential: bool = Field(default=False, description="never shown inside the accused unit")
    accused_node_name: str = Field(default="", description="the name of the accused unit, if one was named")
    holding_node_id: int | None = Field(default=None, description="the body holding the matter now: the 复查 or 复核 "
                                        "body while it reviews, else the handling body")
    holding_node_name: str = ""
    transferred_from_node_id: int | None = Field(default=None, description="the office that transferred or assigned "
                                                 "it here (answers an objection, verifies the completion report)")
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
