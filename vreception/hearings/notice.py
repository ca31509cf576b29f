"""The notice of a hearing: the notice period, and the numbered 听证通知书 to every participant once it is booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from vreception import documents, evidence
from vreception.cases.actions import addressee
from vreception.cases.deadlines import local_day
from vreception.clock import now
from vreception.evidence import MatterFile
from vreception.hearings import errors
from vreception.hearings.panel import require_complete, sitting
from vreception.hearings.procedure import (
    CLOSED_TEXT,
    S,
    body_of,
    matter_of,
    new_gallery_key,
    record,
    require_state,
    text,
)
from vreception.models import Document, Person, Room
from vreception.models.hearings import Hearing
from vreception.models.scheduling import Participant, ReceptionSession

# Seats whose notice is the petitioner's: one copy, addressed to the petitioner(s), served on them.
PETITIONER_SEATS = frozenset({"petitioner", "representative"})
ROLE_TEXT = {"chair": "主持人", "recorder": "记录员", "hearing_member": "听证员", "handler": "承办单位",
             "agent": "代理人", "witness": "证人", "interpreter": "翻译", "petitioner": "信访人",
             "representative": "信访人代表", "observer": "列席人员"}


def check_ready(hearing: Hearing, sizes: Sequence[int]) -> None:
    """A hearing is booked once decided, with its chair, recorder and a full panel, and no 回避 undecided."""
    require_state(hearing, S.decided)
    require_complete(hearing, sizes)
    if any(r.granted is None for r in hearing.recusals):
        raise errors.HearingState("error.recusal_pending")


def check_period(*, starts_at: datetime, at: datetime, notice_days: int, waived: bool, waiver_note: str) -> str:
    """The waiver note when the session starts within the notice period and it was waived in writing; else ""."""
    if (local_day(starts_at) - local_day(at)).days >= notice_days:
        return ""
    note = text(waiver_note, "waiver_note", required=False)
    if not waived or not note:
        raise errors.NoticeTooLate("error.hearing_notice_too_late", field="start", days=notice_days)
    return note


def check_agent(*, db: Session, hearing: Hearing, agent: str, authorisation: str) -> MatterFile | None:
    """The agent's written authorisation (授权委托书), a file attached to the matter; required when an agent is named."""
    if not agent.strip():
        return None
    found = next((f for f in evidence.matter_files(db=db, matter_id=hearing.matter_id) if f.item == authorisation.strip()),
                 None)
    if found is None:
        raise errors.AgentAuthorisation("error.agent_authorisation", field="agent_authorisation", name=agent.strip())
    return found


def _context(hearing: Hearing, booking: ReceptionSession, *, db: Session) -> dict[str, Any]:
    seats = [p for p in booking.participants if p.room_id is None]
    rooms = [db.get_one(Room, p.room_id).name for p in booking.participants if p.room_id is not None]
    chair = db.get(Person, hearing.chair_id) if hearing.chair_id is not None else None
    return dict(
        starts=_local(booking.starts_at), ends=_local(booking.ends_at, "%H:%M"), rooms=rooms,
        chair=chair.name if chair is not None else "",
        panel=[db.get_one(Person, m.person_id).name for m in sitting(hearing)],
        parties=[(ROLE_TEXT.get(p.role, p.role), p.name) for p in seats if p.role not in ("chair", "hearing_member")],
        public=hearing.public, closed=CLOSED_TEXT.get(hearing.closed_reason) if hearing.closed_reason else "",
        waived=hearing.notice_waived)


def _issue(hearing: Hearing, booking: ReceptionSession, seats: list[Participant], actor_id: int | None,
           *, db: Session) -> list[Document]:
    """The petitioner's 听证通知书 (served on them) and one for each of SEATS that is not the petitioner's side."""
    matter = matter_of(hearing, db=db)
    context = {**_context(hearing, booking, db=db), "issuer": body_of(hearing, db=db)}
    petitioner = documents.issue_from(db=db, matter=matter, kind="hearing_notice", template="hearing_notice.html",
                                      actor_id=actor_id, addressee=addressee(matter), **context)
    documents.serve(petitioner, db=db, actor_id=actor_id, at=petitioner.issued_at)
    issued = [petitioner]
    for seat in seats:
        if seat.role not in PETITIONER_SEATS:
            issued.append(documents.issue_from(db=db, matter=matter, kind="hearing_notice",
                                               template="hearing_notice.html", actor_id=actor_id,
                                               addressee=f"{ROLE_TEXT.get(seat.role, seat.role)} {seat.name}",
                                               **context))
    db.flush()
    return issued


def noticed(*, db: Session, hearing: Hearing, booking: ReceptionSession, waiver_note: str,
            actor_id: int | None, authorisation: MatterFile | None = None) -> list[Document]:
    """The hearing is booked: it is noticed, public ones get their gallery key, every participant a 听证通知书."""
    hearing.session_id = booking.id
    hearing.state, hearing.noticed_at = S.noticed, now()
    hearing.notice_waived, hearing.waiver_note = bool(waiver_note), waiver_note
    if hearing.public and hearing.gallery_key is None:
        hearing.gallery_key = new_gallery_key()
    issued = _issue(hearing, booking, [p for p in booking.participants if p.room_id is None], actor_id, db=db)
    held = ({"item": authorisation.item, "sha256": authorisation.sha256, "filename": authorisation.filename}
            if authorisation is not None else None)
    record(hearing, "noticed", actor_id, db=db, session_id=booking.id, waived=bool(waiver_note), waiver_note=waiver_note,
           documents=[d.id for d in issued], public=hearing.public, agent_authorisation=held)
    return issued


def restaffed(*, db: Session, hearing: Hearing, booking: ReceptionSession, newcomers: list[Participant],
              actor_id: int | None) -> list[Document]:
    """A place left by a granted 回避 was filled after the notice: a 听证通知书 to each newcomer, and the petitioner's
    again (it names the new chair, recorder or members, whose 回避 the petitioner may in turn ask for)."""
    issued = _issue(hearing, booking, newcomers, actor_id, db=db)
    record(hearing, "noticed", actor_id, db=db, session_id=booking.id, restaffed=[p.person_id for p in newcomers],
           documents=[d.id for d in issued])
    return issued


def _local(moment: datetime, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    from vreception.cases.deadlines import zone

    return moment.astimezone(zone()).strftime(fmt)
