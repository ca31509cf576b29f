"""The read model of a session's reception record: entries, who signs and how far signing has come."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from vreception.models import Document
from vreception.models.scheduling import ReceptionSession
from vreception.records import hearing as hearing_record
from vreception.records import missing, record_of, signers_of
from vreception.records.access import recorder_of


class EntryOut(BaseModel):
    """One time-stamped entry; OFFSET_S is its place in the session's recording."""

    id: int
    at: datetime
    offset_s: float | None
    recording_id: int | None
    text: str


class SignerOut(BaseModel):
    """A person who signs at the kiosk, and whether they signed or refused (拒签)."""

    participant_id: int
    name: str
    role: str
    state: Literal["waiting", "signed", "refused"]
    at: datetime | None = None
    reason: str = ""
    sha256: str | None = None
    bytes: int | None = None


class ConfirmationOut(BaseModel):
    """A staff member who confirms a hearing record with their account, and whether they confirmed or refused."""

    person_id: int
    name: str
    role: str
    state: Literal["waiting", "confirmed", "refused"]
    at: datetime | None = None
    reason: str = ""


class RecordOut(BaseModel):
    """A session's reception record (接谈记录) and where it stands."""

    session_id: int
    kind: Literal["reception_record", "hearing_record"] = "reception_record"
    state: Literal["none", "draft", "signing", "issued"]
    entries: list[EntryOut]
    signers: list[SignerOut]
    recorder: str | None
    leader_confirmed_at: datetime | None
    recorder_confirmed_at: datetime | None
    waiting_for: list[str]
    confirmations: list[ConfirmationOut] = []
    document_id: int | None
    document_number: str | None
    document_url: str | None


def record_out(booking: ReceptionSession, *, db: Session) -> RecordOut:
    """The record of BOOKING as the API and the pages show it."""
    record = record_of(booking, db=db)
    given = {s.participant_id: s for s in record.signatures} if record else {}
    signers = []
    for p in signers_of(booking):
        s = given.get(p.id)
        state = "waiting" if s is None else "refused" if s.refused else "signed"
        signers.append(SignerOut(participant_id=p.id, name=p.name, role=p.role, state=state, at=s.at if s else None,
                                 reason=s.reason if s else "", sha256=s.sha256 if s else None,
                                 bytes=s.size if s and not s.refused else None))
    recorder = recorder_of(booking)
    document = db.get(Document, record.document_id) if record and record.document_id else None
    if record is None:
        state = "none"
    else:
        state = "issued" if document else "signing" if record.frozen_at else "draft"
    confirmations = []
    if hearing_record.is_hearing(booking):
        for c in hearing_record.confirmers_of(booking, hearing_record.hearing_of(booking, db=db), db=db):
            answer = hearing_record.given(record, c)
            confirmations.append(ConfirmationOut(
                person_id=c.person_id, name=c.name, role=c.role, at=answer.at if answer else None,
                state="waiting" if answer is None else "refused" if answer.refused else "confirmed",
                reason=answer.reason if answer else ""))
    return RecordOut(
        session_id=booking.id, state=state, confirmations=confirmations,
        kind="hearing_record" if hearing_record.is_hearing(booking) else "reception_record",
        entries=[EntryOut.model_validate(e, from_attributes=True) for e in record.entries] if record else [],
        signers=signers, recorder=recorder.name if recorder else None,
        leader_confirmed_at=record.leader_confirmed_at if record else None,
        recorder_confirmed_at=record.recorder_confirmed_at if record else None,
        waiting_for=missing(booking, record) if record else [],
        document_id=document.id if document else None, document_number=document.number if document else None,
        document_url=f"/documents/{document.id}.html" if document else None)
