"""Read models of hearings: the API's response models and the pages' context."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class PersonRef(BaseModel):
    id: int
    name: str


class PanelMemberOut(BaseModel):
    person_id: int
    name: str
    chosen_by_petitioner: bool
    withdrawn: bool


class RecusalOut(BaseModel):
    id: int
    against: PersonRef
    requested_by: str
    reason: str
    requested_at: datetime
    granted: bool | None
    decision_reason: str
    decided_by: int | None
    decided_at: datetime | None


class NoticeOut(BaseModel):
    id: int
    kind: str
    number: str
    issued_at: datetime
    served_at: datetime | None


class HearingOut(BaseModel):
    id: int
    matter_id: int
    matter_number: str
    node_id: int
    stage: str
    state: str
    requested_at: datetime
    requested_by_petitioner: bool
    request_reason: str
    decision_due: date
    decided_at: datetime | None
    decided_by: int | None
    decision_reason: str
    decision_document_id: int | None
    public: bool
    closed_reason: str | None
    chair: PersonRef | None
    recorder: PersonRef | None
    session_id: int | None
    notice_waived: bool
    waiver_note: str
    noticed_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    excluded_days: int
    conclusion_due: date | None
    conclusion_document_id: int | None
    overdue: bool
    published_at: datetime | None
    gallery_key: str | None
    panel: list[PanelMemberOut]
    recusals: list[RecusalOut]
    documents: list[NoticeOut]


class RosterOut(BaseModel):
    id: int
    node_id: int
    person: PersonRef
    profession: str
    active: bool


class BusyOut(BaseModel):
    """Another hearing a roster member sits on, and when (their availability)."""

    person_id: int
    hearing_id: int
    starts_at: datetime | None
    ends_at: datetime | None


class PublicHearingOut(BaseModel):
    """A published opinion after a hearing: no names, no ID or phone numbers."""

    hearing_id: int
    matter_number: str
    categories: list[str]
    outcome: str
    opinion: str
    published_at: str
