"""Hearing endpoints (信访听证): request or proposal, decision, chair and panel, publicity, booking, 回避,
conclusion, publication, the roster, and the public page of a published opinion."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from scheduling import access as session_access
from scheduling import hearing_booking
from scheduling.hearing_booking import book_hearing
from vreception.auth.access import load_node
from vreception.cases import access as matter_access
from vreception.cases import actions
from vreception.hearings import access, panel, procedure, publication, queries, recusals
from vreception.hearings.views import HearingOut, PublicHearingOut, RosterOut
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppPolicy, AppSettings

router = APIRouter(tags=["hearings"])
public_router = APIRouter(prefix="/public", tags=["public"])
WRITE = responses(403, 404, 409, 422)


class RequestIn(BaseModel):
    by_petitioner: bool = Field(default=False, description="the petitioner asked (recorded), else the office proposes")
    reason: str = Field(default="", max_length=4000)


class DecisionIn(BaseModel):
    hold: bool
    reason: str = Field(default="", max_length=4000, description="required when refusing")


class ChairIn(BaseModel):
    chair_id: int
    recorder_id: int


class MemberIn(BaseModel):
    person_id: int
    chosen_by_petitioner: bool = False


class PanelIn(BaseModel):
    members: list[MemberIn] = Field(max_length=15)


class PublicityIn(BaseModel):
    public: bool
    closed_reason: str | None = Field(default=None, max_length=32, description="state_secret, trade_secret, privacy")


class BookingIn(BaseModel):
    room_ids: list[int] = Field(default_factory=list, max_length=10)
    start: datetime
    end: datetime
    handler_ids: list[int] = Field(default_factory=list, max_length=10)
    petitioners: list[str] = Field(default_factory=list, max_length=10)
    representatives: list[str] = Field(default_factory=list, max_length=5)
    agent: str = Field(default="", max_length=100)
    agent_authorisation: str = Field(default="", max_length=200, description=(
        "the agent's written authorisation: the item (upload:MATTER:SHA256) of a file attached to the matter with "
        "POST /matters/{id}/attachments; required when an agent is named (422 agent_authorisation)"))
    witnesses: list[str] = Field(default_factory=list, max_length=10)
    notice_waived: bool = False
    waiver_note: str = Field(default="", max_length=4000)
    record: bool = Field(default=True, description="false only for a hearing closed for a state secret")


class RecusalIn(BaseModel):
    against_id: int
    requested_by: str = Field(max_length=100)
    reason: str = Field(max_length=4000)


class RecusalDecisionIn(BaseModel):
    granted: bool
    reason: str = Field(max_length=4000)


class ConclusionIn(BaseModel):
    conclusion: str = Field(max_length=4000)


class RosterIn(BaseModel):
    node_id: int
    person_id: int
    profession: str = Field(default="", max_length=100)


@router.post("/matters/{matter_id}/hearings", status_code=201, response_model=HearingOut, responses=WRITE)
def request_hearing(matter_id: int, body: RequestIn, principal: ApiPrincipal, db: DbSession,
                    settings: AppSettings) -> HearingOut:
    """Record the petitioner's request for a hearing or the office's proposal (the decision falls due)."""
    matter = actions.lock(matter_id, db=db)
    access.require_office(principal, matter, db=db)
    hearing = procedure.propose(db=db, matter=matter, actor_id=principal.person_id, by_petitioner=body.by_petitioner,
                                reason=body.reason, decision_days=settings.hearing_decision_days)
    return queries.hearing_out(hearing, db=db)


@router.get("/matters/{matter_id}/hearings", response_model=list[HearingOut], responses=responses(403, 404))
def matter_hearings(matter_id: int, principal: ApiPrincipal, db: DbSession) -> list[HearingOut]:
    """The matter's hearings, newest first."""
    matter_access.load_readable(principal, matter_id, db=db)
    return [queries.hearing_out(h, db=db) for h in procedure.of_matter(matter_id, db=db)]


@router.get("/hearings/{hearing_id}", response_model=HearingOut, responses=responses(403, 404))
def get_hearing(hearing_id: int, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """One hearing: its state, chair, panel, 回避 requests and documents."""
    return queries.hearing_out(access.load_visible(principal, hearing_id, db=db), db=db)


@router.post("/hearings/{hearing_id}/decision", response_model=HearingOut, responses=WRITE)
def decide_hearing(hearing_id: int, body: DecisionIn, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """Hold the hearing (听证告知书) or refuse it with a reason (不予听证告知书)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    procedure.decide(db=db, hearing=hearing, hold=body.hold, reason=body.reason, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.put("/hearings/{hearing_id}/chair", response_model=HearingOut, responses=WRITE)
def appoint_chair(hearing_id: int, body: ChairIn, principal: ApiPrincipal, db: DbSession,
                  policy: AppPolicy) -> HearingOut:
    """Appoint the chair (no one who acted on the matter: 422 chair_conflict) and the recorder; once noticed, only
    a place a granted 回避 left empty, and the booked session's seat moves to the newcomer (noticed)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    hearing_booking.appoint(db=db, policy=policy, hearing=hearing, chair_id=body.chair_id, recorder_id=body.recorder_id,
                            actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.put("/hearings/{hearing_id}/panel", response_model=HearingOut, responses=WRITE)
def compose_panel(hearing_id: int, body: PanelIn, principal: ApiPrincipal, db: DbSession,
                  policy: AppPolicy) -> HearingOut:
    """Compose the panel from the roster: an allowed odd size (panel_size), on the roster, without conflicts."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    hearing_booking.compose(db=db, policy=policy, hearing=hearing,
                            seats=[panel.Seat(m.person_id, m.chosen_by_petitioner) for m in body.members],
                            actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.put("/hearings/{hearing_id}/publicity", response_model=HearingOut, responses=WRITE)
def set_publicity(hearing_id: int, body: PublicityIn, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """Public, or closed for a state secret, a trade secret or privacy (422 closed_reason otherwise)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    procedure.set_publicity(db=db, hearing=hearing, public=body.public, closed_reason=body.closed_reason,
                            actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.post("/hearings/{hearing_id}/booking", response_model=HearingOut, status_code=201, responses=WRITE)
def book(hearing_id: int, body: BookingIn, principal: ApiPrincipal, db: DbSession, policy: AppPolicy) -> HearingOut:
    """Book the hearing's session (the chair in the leader's seat) and notice every participant (听证通知书)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    if hearing.chair_id is not None:
        session_access.require_booker(principal, db=db, leader_id=hearing.chair_id, room_ids=body.room_ids,
                                      matter_id=hearing.matter_id)
    book_hearing(db=db, policy=policy, hearing=hearing, room_ids=body.room_ids, starts_at=body.start, ends_at=body.end,
                 handler_ids=body.handler_ids, petitioners=body.petitioners, representatives=body.representatives,
                 agent=body.agent, agent_authorisation=body.agent_authorisation, witnesses=body.witnesses,
                 notice_waived=body.notice_waived, waiver_note=body.waiver_note, recorded=body.record, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.post("/hearings/{hearing_id}/recusals", response_model=HearingOut, status_code=201, responses=WRITE)
def request_recusal(hearing_id: int, body: RecusalIn, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """Record a 回避 request against the chair, a panel member or the recorder (by the office or the chair)."""
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    access.require_recusal_recorder(principal, hearing, db=db)
    recusals.request(db=db, hearing=hearing, against_id=body.against_id, requested_by=body.requested_by,
                     reason=body.reason, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.post("/hearings/{hearing_id}/recusals/{recusal_id}/decision", response_model=HearingOut, responses=WRITE)
def decide_recusal(hearing_id: int, recusal_id: int, body: RecusalDecisionIn, principal: ApiPrincipal,
                   db: DbSession, policy: AppPolicy) -> HearingOut:
    """The chair decides a 回避 request (the office, when it is against the chair); granted members withdraw, and
    before the session opens their seat in it goes."""
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    recusal = recusals.load(hearing, recusal_id)
    access.require_recusal_decider(principal, hearing, recusal, db=db)
    hearing_booking.decide_recusal(db=db, policy=policy, hearing=hearing, recusal=recusal, granted=body.granted,
                                   reason=body.reason, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.post("/hearings/{hearing_id}/conclusion", response_model=HearingOut, responses=WRITE)
def conclude(hearing_id: int, body: ConclusionIn, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """Issue the 听证结论 (after its due day too: the hearing then shows it was overdue)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    procedure.conclude(db=db, hearing=hearing, conclusion=body.conclusion, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.post("/hearings/{hearing_id}/publication", response_model=HearingOut, responses=WRITE)
def publish(hearing_id: int, principal: ApiPrincipal, db: DbSession) -> HearingOut:
    """Publish the opinion made after the hearing (a public page without personal data)."""
    hearing = access.load_for_office(principal, hearing_id, db=db)
    publication.publish(db=db, hearing=hearing, actor_id=principal.person_id)
    return queries.hearing_out(hearing, db=db)


@router.get("/hearing-roster", response_model=list[RosterOut], responses=responses(403, 404))
def roster(node_id: int, principal: ApiPrincipal, db: DbSession) -> list[RosterOut]:
    """The hearing members on an office's roster and the rosters above it."""
    access.require_roster_keeper(principal, load_node(node_id, db=db))
    return queries.roster_of(node_id, db=db)


@router.post("/hearing-roster", response_model=RosterOut, status_code=201, responses=WRITE)
def add_to_roster(body: RosterIn, principal: ApiPrincipal, db: DbSession) -> RosterOut:
    """Put a person with the hearing member role on an office's roster."""
    access.require_roster_keeper(principal, load_node(body.node_id, db=db))
    entry = panel.add_to_roster(db=db, node_id=body.node_id, person_id=body.person_id, profession=body.profession,
                                actor_id=principal.person_id)
    return next(r for r in queries.roster_of(body.node_id, db=db, inherited=False) if r.id == entry.id)


@router.delete("/hearing-roster/{entry_id}", status_code=204, responses=responses(403, 404))
def remove_from_roster(entry_id: int, principal: ApiPrincipal, db: DbSession) -> None:
    """Take a member off the roster (kept for the record, inactive)."""
    entry = panel.load_entry(entry_id, db=db)
    access.require_roster_keeper(principal, load_node(entry.node_id, db=db))
    panel.remove_from_roster(db=db, entry=entry, actor_id=principal.person_id)


@public_router.get("/hearings/{hearing_id}", response_model=PublicHearingOut, responses=responses(404))
def public_hearing(hearing_id: int, db: DbSession) -> PublicHearingOut:
    """A published opinion after a hearing: the matter's number and categories, the text without personal data."""
    found = publication.published(hearing_id, db=db)
    return PublicHearingOut(**found.__dict__)
