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


class AuthorisationOut(BaseModel):
    """The agent's written authorisation (授权委托书): a file attached to the matter."""

    item: str
    sha256: str
    filename: str


class HearingOut(BaseModel):
    id: int
    matter_id: int
    matter_number: str
    node_id: int
    node_name: str = ""  # the body holding the hearing: the handling body, or the 复核 body during 复核
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
    agent_authorisation: AuthorisationOut | None = None


class RosterOut(BaseModel):
    id: int
    node_id: int
    node_name: str = ""
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


class ChoiceOut(BaseModel):
    """A person, a room or a file the office picks on the matter page's hearing forms."""

    id: int
    name: str
    title: str = ""


class FileChoiceOut(BaseModel):
    """A file attached to the matter, offered as the agent's written authorisation."""

    item: str
    filename: str


class HearingChoicesOut(BaseModel):
    """What the body running a hearing picks from: its leaders (chair), its staff (recorder), the handling body's
    handlers, rooms, the roster with each member's other hearings, the matter's files."""

    leaders: list[ChoiceOut]
    staff: list[ChoiceOut]
    handlers: list[ChoiceOut]
    rooms: list[ChoiceOut]
    roster: list[RosterOut]
    busy: dict[int, list[BusyOut]]
    files: list[FileChoiceOut]


class MatterHearingsOut(BaseModel):
    """The matter page's hearing section for one principal: the newest hearing, the older ones, what they may do."""

    hearing: HearingOut | None
    earlier: list[HearingOut]
    runs: bool  # the principal's office runs the newest hearing
    can_propose: bool
    chair: bool  # the principal chairs the newest hearing
    deciders: list[int]  # the pending 回避 requests the principal decides
    targets: dict[int, str]  # who a 回避 request may name, by id
    choices: HearingChoicesOut | None  # for the office running a hearing that is not over


class OfficeRef(BaseModel):
    id: int
    name: str


class RosterPageOut(BaseModel):
    """An office's roster of hearing members (听证员名库) as its coordinators keep it: its own entries, those of the
    offices above it (a panel may be chosen from them too), each member's other hearings, who may be added."""

    office: OfficeRef
    offices: list[OfficeRef]  # the offices the principal keeps a roster for
    own: list[RosterOut]
    inherited: list[RosterOut]
    busy: dict[int, list[BusyOut]]
    candidates: list[ChoiceOut]  # people with the hearing member role in the office's subtree, not on its roster
