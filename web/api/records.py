"""A session's record (接谈记录, a hearing's 听证笔录): entries, kiosk signatures and refusals, confirmations,
and the panel members' opinions."""

from __future__ import annotations

from fastapi import APIRouter, Form, UploadFile
from pydantic import BaseModel, Field

from scheduling.booking import load_session
from vreception import records
from vreception.hearings import opinions
from vreception.hearings import record as hearing_record
from vreception.hearings.record import MemberHearingOut
from vreception.records import access
from vreception.records.views import RecordOut, record_out
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses

router = APIRouter(tags=["records"])
_SESSION = {"s404": "session_not_found"}
_STATES = {"s409": "conflict (record_empty, record_session_not_ended, record_frozen, record_issued, already_signed)"}
_OPINION = {"s404": "hearing_not_found", "s409": "conflict (opinion_too_early, opinion_frozen)"}


class EntryIn(BaseModel):
    """A time-stamped entry of the record, written during or just after the call."""

    text: str = Field(min_length=1, max_length=records.MAX_ENTRY_CHARS)


class RefusalIn(BaseModel):
    """A signer's refusal to sign (拒签) and its reason."""

    participant_id: int
    reason: str = Field(min_length=1, max_length=2000)


class ConfirmationRefusalIn(BaseModel):
    """A confirmer of a hearing record refuses to confirm it, and why."""

    reason: str = Field(min_length=1, max_length=records.MAX_REASON_CHARS)


class OpinionIn(BaseModel):
    """A panel member's opinion on the hearing (听证员意见)."""

    text: str = Field(min_length=1, max_length=opinions.MAX_OPINION_CHARS)


@router.get("/sessions/{session_id}/record", response_model=RecordOut, responses=responses(403, 404, **_SESSION))
def get_record(session_id: int, principal: ApiPrincipal, db: DbSession) -> RecordOut:
    """The record with its entries, signers and confirmations."""
    booking = load_session(session_id, db=db)
    access.require_reader(principal, booking, db=db)
    return record_out(booking, db=db)


@router.post("/sessions/{session_id}/record", status_code=201, response_model=RecordOut,
             responses=responses(403, 404, 409, 422, **_SESSION, **_STATES))
def add_entry(session_id: int, body: EntryIn, principal: ApiPrincipal, db: DbSession) -> RecordOut:
    """Add an entry (the leader, the booked recorder, the office); stamped with its offset into the recording."""
    booking = load_session(session_id, db=db)
    access.require_writer(principal, booking, db=db)
    records.add_entry(db=db, booking=booking, text=body.text, actor_id=principal.person_id)
    return record_out(booking, db=db)


@router.post("/sessions/{session_id}/record/signatures", response_model=RecordOut,
             responses=responses(403, 404, 409, 413, 422, **_SESSION, **_STATES))
def add_signature(session_id: int, principal: ApiPrincipal, db: DbSession,
                  signature: UploadFile | None = None, participant_id: int = Form(default=0)) -> RecordOut:
    """A signature drawn on the room's kiosk: a PNG (413 over the limit); 403 for a signer not in the session."""
    booking = load_session(session_id, db=db)
    access.require_kiosk(principal, booking)
    data = signature.file.read(records.MAX_SIGNATURE_BYTES + 1) if signature is not None else b""
    records.sign(db=db, booking=booking, participant_id=participant_id, png=data, actor_id=principal.person_id)
    return record_out(booking, db=db)


@router.post("/sessions/{session_id}/record/refusals", response_model=RecordOut,
             responses=responses(403, 404, 409, 422, **_SESSION, **_STATES))
def add_refusal(session_id: int, body: RefusalIn, principal: ApiPrincipal, db: DbSession) -> RecordOut:
    """A signer refuses to sign at the kiosk (拒签); the reason is recorded."""
    booking = load_session(session_id, db=db)
    access.require_kiosk(principal, booking)
    records.refuse(db=db, booking=booking, participant_id=body.participant_id, reason=body.reason,
                   actor_id=principal.person_id)
    return record_out(booking, db=db)


@router.post("/sessions/{session_id}/record/confirm", response_model=RecordOut,
             responses=responses(403, 404, 409, **_SESSION, **_STATES))
def confirm(session_id: int, principal: ApiPrincipal, db: DbSession) -> RecordOut:
    """The leader or the recorder confirms the record; the last step issues the signed document."""
    booking = load_session(session_id, db=db)
    access.require_confirmer(principal, booking)
    records.confirm(db=db, booking=booking, person_id=principal.person_id)
    return record_out(booking, db=db)


@router.post("/sessions/{session_id}/record/confirm-refusals", response_model=RecordOut,
             responses=responses(403, 404, 409, 422, **_SESSION, **_STATES))
def refuse_confirmation(session_id: int, body: ConfirmationRefusalIn, principal: ApiPrincipal,
                        db: DbSession) -> RecordOut:
    """A handler, panel member, recorder or chair refuses to confirm a hearing record; the reason is recorded."""
    booking = load_session(session_id, db=db)
    access.require_confirmer(principal, booking)
    records.refuse_confirmation(db=db, booking=booking, person_id=principal.person_id, reason=body.reason)
    return record_out(booking, db=db)


@router.post("/hearings/{hearing_id}/opinion", response_model=MemberHearingOut,
             responses=responses(403, 404, 409, 422, **_OPINION))
def give_opinion(hearing_id: int, body: OpinionIn, principal: ApiPrincipal, db: DbSession) -> MemberHearingOut:
    """A sitting panel member's opinion, once deliberation began; editable until the record is frozen."""
    hearing = hearing_record.load(hearing_id, db=db)
    hearing_record.require_member(hearing, principal.person_id)
    opinions.record_opinion(db=db, hearing=hearing, person_id=principal.person_id, text=body.text)
    return hearing_record.member_view(hearing, principal.person_id, db=db)
