"""The reception record (接谈记录): entries during the call, signatures at the kiosk, confirmation, issue."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, documents
from vreception.cases.deadlines import zone
from vreception.clock import now
from vreception.errors import Conflict, Forbidden, Invalid, NotFound
from vreception.hearings import procedure
from vreception.models import AuditEvent, Document, Matter, Person
from vreception.models.hearings import AgendaStep, ClosedReason, Hearing
from vreception.models.recordings import Recording, RecordingState
from vreception.models.records import ReceptionRecord, RecordConfirmation, RecordEntry, RecordSignature
from vreception.models.scheduling import Participant, ReceptionSession, SessionState
from vreception.records.access import recorder_of
from vreception.records.errors import TooLarge
from vreception.records.hearing import confirmers_of, given, hearing_of, is_hearing, outstanding

# Who signs at the kiosk: the petitioner's side named in the booking and sitting in a room.
SIGNER_ROLES = ("petitioner", "representative", "agent")
MAX_SIGNATURE_BYTES = 256 * 1024
MAX_ENTRY_CHARS = 20_000
MAX_REASON_CHARS = 2000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROLE_NAMES = {"leader": "接谈领导", "petitioner": "信访人", "representative": "代表", "agent": "代理人",
              "interpreter": "翻译", "coordinator": "工作人员", "chair": "主持人", "recorder": "记录人",
              "hearing_member": "听证员", "handler": "承办人员", "observer": "列席人员", "witness": "证人"}
STEP_NAMES = {AgendaStep.opening: "宣布开始、核对身份、询问回避", AgendaStep.petitioner_states: "信访人陈述",
              AgendaStep.handler_answers: "承办单位答复", AgendaStep.cross_examination: "质证、辩论",
              AgendaStep.final_statements: "最后陈述", AgendaStep.deliberation: "合议（不公开）",
              AgendaStep.conclusion: "宣布听证结论"}
CLOSED_NAMES = {ClosedReason.state_secret: "涉及国家秘密", ClosedReason.trade_secret: "涉及商业秘密",
                ClosedReason.privacy: "涉及个人隐私"}


def record_of(booking: ReceptionSession, *, db: Session) -> ReceptionRecord | None:
    """The session's record, if one was started."""
    return db.scalar(select(ReceptionRecord).where(ReceptionRecord.session_id == booking.id))


def signers_of(booking: ReceptionSession) -> list[Participant]:
    """The participants who read and sign at the kiosk: petitioner, representatives, agents sitting in a room."""
    return [p for p in booking.participants
            if p.role in SIGNER_ROLES and p.person_id is None and p.room_id is None]


def _audited(*, db: Session, action: str, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
    """The data of the audit events of ACTION on one entity, oldest first."""
    return [json.loads(data) for data in db.scalars(
        select(AuditEvent.data).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id),
                                      AuditEvent.action == action).order_by(AuditEvent.seq))]


def present_of(booking: ReceptionSession, *, db: Session) -> list[Participant]:
    """Who took part besides the leader: seats that joined the call, and the people sitting in a room that joined."""
    joined = {data.get("participant_id")
              for data in _audited(db=db, action="call.participant_joined", entity_type="session", entity_id=booking.id)}
    room_joined = any(p.room_id is not None and p.id in joined for p in booking.participants)
    # A gallery viewer (an observer seat of nobody) watched; they did not take part.
    return [p for p in booking.participants if p.role not in ("leader", "chair") and p.room_id is None
            and not (p.role == "observer" and p.person_id is None)
            and (p.id in joined or (p.person_id is None and room_joined))]


def recording_of(booking: ReceptionSession, *, db: Session) -> Recording | None:
    """The session's latest recording that ran (still recording or finalised)."""
    return db.scalar(select(Recording).where(Recording.session_id == booking.id,
                                             Recording.state.in_([RecordingState.recording, RecordingState.finalised]))
                     .order_by(Recording.id.desc()).limit(1))


def add_entry(*, db: Session, booking: ReceptionSession, text: str, actor_id: int | None) -> RecordEntry:
    """Add a time-stamped entry, with its offset into the recording when one runs; starts the record."""
    text = (text or "").strip()
    if not text:
        raise Invalid("error.notes_required", field="notes")
    if len(text) > MAX_ENTRY_CHARS:
        raise Invalid("error.invalid_field", field="notes", reason=f"≤ {MAX_ENTRY_CHARS}")
    if booking.matter_id is None:
        raise NotFound("error.matter_not_found")
    record = record_of(booking, db=db)
    if record is not None and record.frozen_at is not None:
        raise Conflict("error.record_frozen", field="notes")
    if record is None:
        record = ReceptionRecord(session_id=booking.id, matter_id=booking.matter_id, created_at=now())
        db.add(record)
        db.flush()
        audit.record(db=db, action="record.started", entity_type="reception_record", entity_id=record.id,
                     actor_id=actor_id, data={"session_id": booking.id, "matter_id": booking.matter_id})
    at = now()
    recording = recording_of(booking, db=db)
    offset = max(0.0, (at - recording.started_at).total_seconds()) if recording is not None else None
    entry = RecordEntry(record_id=record.id, at=at, offset_s=offset, text=text, author_id=actor_id,
                        recording_id=recording.id if recording else None)
    record.entries.append(entry)
    db.flush()
    audit.record(db=db, action="record.entry_added", entity_type="reception_record", entity_id=record.id,
                 actor_id=actor_id, data={"entry_id": entry.id, "offset_s": offset,
                                          "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()})
    return entry


def _signable(booking: ReceptionSession, *, db: Session) -> ReceptionRecord:
    """The record once the call has ended, with entries and not yet issued."""
    record = record_of(booking, db=db)
    if record is None or not record.entries:
        raise Conflict("error.record_empty")
    if booking.state is not SessionState.ended:
        raise Conflict("error.record_session_not_ended")
    if record.document_id is not None:
        raise Conflict("error.record_issued")
    return record


def _signer(booking: ReceptionSession, participant_id: int) -> Participant:
    signer = next((p for p in signers_of(booking) if p.id == participant_id), None)
    if signer is None:
        raise Forbidden("error.signer_not_in_session", field="participant_id")
    return signer


def _not_yet(record: ReceptionRecord, signer: Participant) -> None:
    if any(s.participant_id == signer.id for s in record.signatures):
        raise Conflict("error.already_signed", field="participant_id", name=signer.name)


def _freeze(record: ReceptionRecord, actor_id: int | None, *, db: Session) -> None:
    if record.frozen_at is None:
        record.frozen_at = now()
        audit.record(db=db, action="record.frozen", entity_type="reception_record", entity_id=record.id,
                     actor_id=actor_id, data={"entries": len(record.entries)})


def check_png(data: bytes) -> None:
    """413 when over the size limit, 422 unless a PNG image."""
    if len(data) > MAX_SIGNATURE_BYTES:
        raise TooLarge("error.signature_too_large", field="signature", max=MAX_SIGNATURE_BYTES)
    if len(data) < 33 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise Invalid("error.signature_not_png", field="signature")


def sign(*, db: Session, booking: ReceptionSession, participant_id: int, png: bytes,
         actor_id: int | None) -> RecordSignature:
    """A signer's signature drawn on the kiosk, stored as a PNG with its SHA-256; issues the record when complete."""
    record = _signable(booking, db=db)
    signer = _signer(booking, participant_id)
    check_png(png)
    _not_yet(record, signer)
    digest = hashlib.sha256(png).hexdigest()
    signature = RecordSignature(participant_id=signer.id, name=signer.name, role=signer.role, at=now(), png=png,
                                size=len(png), sha256=digest, taken_by=actor_id)
    _freeze(record, actor_id, db=db)
    record.signatures.append(signature)
    db.flush()
    audit.record(db=db, action="record.signed", entity_type="reception_record", entity_id=record.id, actor_id=actor_id,
                 data={"participant_id": signer.id, "name": signer.name, "sha256": digest, "bytes": len(png)})
    issue_when_complete(db=db, booking=booking, record=record, actor_id=actor_id)
    return signature


def refuse(*, db: Session, booking: ReceptionSession, participant_id: int, reason: str,
           actor_id: int | None) -> RecordSignature:
    """A signer refuses to sign (拒签); the refusal and its reason are recorded."""
    record = _signable(booking, db=db)
    signer = _signer(booking, participant_id)
    reason = _reason(reason)
    _not_yet(record, signer)
    refusal = RecordSignature(participant_id=signer.id, name=signer.name, role=signer.role, at=now(), refused=True,
                              reason=reason, taken_by=actor_id)
    _freeze(record, actor_id, db=db)
    record.signatures.append(refusal)
    db.flush()
    audit.record(db=db, action="record.refused", entity_type="reception_record", entity_id=record.id, actor_id=actor_id,
                 data={"participant_id": signer.id, "name": signer.name, "reason": reason})
    issue_when_complete(db=db, booking=booking, record=record, actor_id=actor_id)
    return refusal


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("error.refusal_reason_required", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise Invalid("error.invalid_field", field="reason", reason=f"≤ {MAX_REASON_CHARS}")
    return reason


def _answer_hearing(*, db: Session, booking: ReceptionSession, person_id: int, refused: bool,
                    reason: str = "") -> ReceptionRecord:
    """A confirmer of a hearing record confirms or refuses it in every role they hold there; issues when complete."""
    record = _signable(booking, db=db)
    mine = [c for c in confirmers_of(booking, hearing_of(booking, db=db), db=db) if c.person_id == person_id]
    if not mine:
        raise Forbidden()
    open_ = [c for c in mine if given(record, c) is None]
    if not open_:
        raise Conflict("error.record_already_confirmed")
    at = now()
    for c in open_:
        record.confirmations.append(RecordConfirmation(person_id=person_id, role=c.role, at=at, refused=refused,
                                                       reason=reason))
    _freeze(record, person_id, db=db)
    db.flush()
    roles = [c.role for c in open_]
    audit.record(db=db, action="record.confirmation_refused" if refused else "record.confirmed",
                 entity_type="reception_record", entity_id=record.id, actor_id=person_id,
                 data={"as": roles, "reason": reason} if refused else {"as": roles})
    issue_when_complete(db=db, booking=booking, record=record, actor_id=person_id)
    return record


def refuse_confirmation(*, db: Session, booking: ReceptionSession, person_id: int, reason: str) -> ReceptionRecord:
    """A confirmer of a hearing record refuses to confirm it, with the reason recorded."""
    if not is_hearing(booking):
        raise Forbidden()
    return _answer_hearing(db=db, booking=booking, person_id=person_id, refused=True, reason=_reason(reason))


def confirm(*, db: Session, booking: ReceptionSession, person_id: int) -> ReceptionRecord:
    """The leader or the recorder confirms the record with their account (a hearing's: each of its confirmers);
    issues the record when complete."""
    if is_hearing(booking):
        return _answer_hearing(db=db, booking=booking, person_id=person_id, refused=False)
    record = _signable(booking, db=db)
    recorder = recorder_of(booking)
    confirmed = []
    if booking.leader_id == person_id and record.leader_confirmed_at is None:
        record.leader_confirmed_at, record.leader_confirmed_by = now(), person_id
        confirmed.append("leader")
    if recorder is not None and recorder.person_id == person_id and record.recorder_confirmed_at is None:
        record.recorder_confirmed_at, record.recorder_confirmed_by = now(), person_id
        confirmed.append("recorder")
    if not confirmed:
        if booking.leader_id == person_id or (recorder is not None and recorder.person_id == person_id):
            raise Conflict("error.record_already_confirmed")
        raise Forbidden()
    _freeze(record, person_id, db=db)
    db.flush()
    audit.record(db=db, action="record.confirmed", entity_type="reception_record", entity_id=record.id,
                 actor_id=person_id, data={"as": confirmed})
    issue_when_complete(db=db, booking=booking, record=record, actor_id=person_id)
    return record


def missing(booking: ReceptionSession, record: ReceptionRecord) -> list[str]:
    """What the record still waits for: signers' names, "leader", "recorder" (a hearing's: "role:name")."""
    done = {s.participant_id for s in record.signatures}
    out = [p.name for p in signers_of(booking) if p.id not in done]
    if is_hearing(booking):
        return out + [f"{c.role}:{c.name}" for c in outstanding(booking, record)]
    if record.leader_confirmed_at is None:
        out.append("leader")
    if recorder_of(booking) is not None and record.recorder_confirmed_at is None:
        out.append("recorder")
    return out


def issue_when_complete(*, db: Session, booking: ReceptionSession, record: ReceptionRecord,
                        actor_id: int | None) -> Document | None:
    """Issue and serve the signed record once every signer signed or refused and the leader (and recorder) confirmed."""
    if record.document_id is not None or missing(booking, record):
        return None
    matter = db.get_one(Matter, record.matter_id)
    context = record_context(booking, record, db=db)
    data: dict[str, Any] = {}
    if is_hearing(booking):
        held = hearing_of(booking, db=db)
        # Issued in the name of the body that held the hearing (the 复核 body during 复核).
        document = documents.issue_from(db=db, matter=matter, kind="hearing_record", template="hearing_record.html",
                                        actor_id=actor_id, issuer=procedure.body_of(held, db=db) if held else None,
                                        **context)
        # The transcript and the recording it refers to are chained to the audit log together.
        data["manifest_sha256"] = context["recording"]["manifest_sha256"] if context["recording"] else None
    else:
        document = documents.issue_signed_record(db=db, matter=matter, actor_id=actor_id, **context)
    record.document_id = document.id
    db.flush()
    audit.record(db=db, action="record.issued", entity_type="reception_record", entity_id=record.id, actor_id=actor_id,
                 data={"document_id": document.id, "number": document.number, "sha256": document.sha256, **data})
    # Handed over at the table (当场交付): the signed record is served as it is issued.
    documents.serve(document, db=db, actor_id=booking.leader_id, at=document.issued_at)
    return document


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone()).strftime(fmt) if moment else ""


def _offset(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _person(person_id: int | None, *, db: Session) -> str:
    person = db.get(Person, person_id) if person_id else None
    if person is None:
        return ""
    return f"{person.name}（{person.title}）" if person.title else person.name


def record_context(booking: ReceptionSession, record: ReceptionRecord, *, db: Session) -> dict[str, Any]:
    """What the record's document shows: session, place, people, entries, signatures, the recording's hash."""
    leader = db.get_one(Person, booking.leader_id)
    recorder = recorder_of(booking)
    recording = recording_of(booking, db=db)
    return {
        "session_id": booking.id,
        "session_time": f"{_local(booking.starts_at)}至{_local(booking.ends_at, '%H:%M')}",
        "place": "、".join(p.name for p in booking.participants if p.room_id) or "—",
        "leader": _person(leader.id, db=db),
        "recorder": _person(recorder.person_id, db=db) if recorder else _person(leader.id, db=db),
        "present": [{"name": p.name, "role": ROLE_NAMES.get(p.role, p.role)} for p in present_of(booking, db=db)],
        "entries": [{"at": _local(e.at, "%H:%M:%S"), "offset": _offset(e.offset_s), "text": e.text}
                    for e in record.entries],
        "signatures": [{"name": s.name, "role": ROLE_NAMES.get(s.role, s.role), "at": _local(s.at),
                        "refused": s.refused, "reason": s.reason, "sha256": s.sha256,
                        "image": f"data:image/png;base64,{base64.b64encode(s.png).decode('ascii')}" if s.png else ""}
                       for s in record.signatures],
        "leader_confirmed": _local(record.leader_confirmed_at),
        "recorder_confirmed": _local(record.recorder_confirmed_at or record.leader_confirmed_at),
        "recording": None if recording is None else {
            "id": recording.id, "started": _local(recording.started_at, "%Y-%m-%d %H:%M:%S"),
            "finalised": recording.state is RecordingState.finalised, "manifest_sha256": recording.manifest_sha256,
            "sha256": recording.sha256},
        "recorded": booking.recorded,
        **(hearing_context(booking, record, db=db) if is_hearing(booking) else {}),
    }


def hearing_context(booking: ReceptionSession, record: ReceptionRecord, *, db: Session) -> dict[str, Any]:
    """What a 听证笔录 adds: chair, panel, recorder, public or closed, the agenda, opinions and confirmations."""
    hearing: Hearing | None = hearing_of(booking, db=db)
    confirmers = confirmers_of(booking, hearing, db=db)
    chair = next(c for c in confirmers if c.role == "chair")
    recorder = next((c for c in confirmers if c.role == "recorder"), None)
    panel = hearing.panel if hearing is not None else []
    confirmations = []
    for c in confirmers:
        answer = given(record, c)
        confirmations.append({"name": _person(c.person_id, db=db), "role": ROLE_NAMES.get(c.role, c.role),
                              "state": "waiting" if answer is None else "refused" if answer.refused else "confirmed",
                              "at": _local(answer.at) if answer else "", "reason": answer.reason if answer else ""})
    return {
        "hearing": hearing is not None,
        "hearing_id": hearing.id if hearing is not None else None,
        "leader": _person(chair.person_id, db=db),
        "chair": _person(chair.person_id, db=db),
        "recorder": _person(recorder.person_id, db=db) if recorder else "",
        "public": hearing.public if hearing is not None else True,
        "closed_reason": CLOSED_NAMES.get(hearing.closed_reason, "") if hearing and hearing.closed_reason else "",
        "panel": [{"name": _person(m.person_id, db=db), "withdrawn": m.withdrawn, "chosen": m.chosen_by_petitioner}
                  for m in panel],
        "agenda": [{"step": STEP_NAMES.get(e.step, e.step.value), "at": _local(e.at, "%H:%M:%S"),
                    "offset": _offset(e.offset_s)} for e in (hearing.steps if hearing is not None else [])],
        "opinions": [{"name": _person(m.person_id, db=db), "opinion": m.opinion, "at": _local(m.opinion_at)}
                     for m in panel if not m.withdrawn],
        "confirmations": confirmations,
    }
