"""The hearing variant of a session's record (听证笔录): its hearing, who confirms it, and what else it shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from vreception.models import Person
from vreception.models.hearings import Hearing
from vreception.models.records import ReceptionRecord, RecordConfirmation
from vreception.models.scheduling import ReceptionSession, SessionKind

# Who confirms a hearing record with their own account, in the order the document lists them.
CONFIRMER_ROLES = ("handler", "hearing_member", "recorder", "chair")


@dataclass(frozen=True)
class Confirmer:
    """A staff member who confirms (or refuses) the hearing record, in one role."""

    person_id: int
    role: str
    name: str


def is_hearing(booking: ReceptionSession) -> bool:
    """Whether the session is a hearing, whose record is a 听证笔录."""
    return booking.kind is SessionKind.hearing


def hearing_of(booking: ReceptionSession, *, db: Session | None = None) -> Hearing | None:
    """The hearing held in BOOKING, if it is a hearing session with its row."""
    db = db or object_session(booking)
    if not is_hearing(booking) or db is None:
        return None
    return db.scalar(select(Hearing).where(Hearing.session_id == booking.id))


def chair_of(booking: ReceptionSession, hearing: Hearing | None) -> int:
    """The chair (主持人): the hearing's, else the booking's leader seat."""
    return hearing.chair_id if hearing is not None and hearing.chair_id is not None else booking.leader_id


def recorder_id_of(booking: ReceptionSession, hearing: Hearing | None) -> int | None:
    """The recorder (记录员): the hearing's, else the booked recorder seat."""
    if hearing is not None and hearing.recorder_id is not None:
        return hearing.recorder_id
    return next((p.person_id for p in booking.participants if p.role == "recorder" and p.person_id is not None), None)


def _name(person_id: int, *, db: Session) -> str:
    person = db.get(Person, person_id)
    return person.name if person is not None else ""


def confirmers_of(booking: ReceptionSession, hearing: Hearing | None, *, db: Session | None = None) -> list[Confirmer]:
    """The handlers, every panel member not withdrawn, the recorder and the chair."""
    db = db or object_session(booking)
    assert db is not None  # a persistent session row
    out = [Confirmer(p.person_id, "handler", p.name) for p in booking.participants
           if p.role == "handler" and p.person_id is not None]
    if hearing is not None:
        out += [Confirmer(m.person_id, "hearing_member", _name(m.person_id, db=db)) for m in hearing.panel
                if not m.withdrawn]
    else:
        out += [Confirmer(p.person_id, "hearing_member", p.name) for p in booking.participants
                if p.role == "hearing_member" and p.person_id is not None]
    recorder = recorder_id_of(booking, hearing)
    if recorder is not None:
        out.append(Confirmer(recorder, "recorder", _name(recorder, db=db)))
    chair = chair_of(booking, hearing)
    out.append(Confirmer(chair, "chair", _name(chair, db=db)))
    return out


def given(record: ReceptionRecord | None, confirmer: Confirmer) -> RecordConfirmation | None:
    """The confirmation or refusal CONFIRMER gave, if any."""
    if record is None:
        return None
    return next((c for c in record.confirmations if c.person_id == confirmer.person_id and c.role == confirmer.role),
                None)


def outstanding(booking: ReceptionSession, record: ReceptionRecord) -> list[Confirmer]:
    """The confirmers who have neither confirmed nor refused yet."""
    return [c for c in confirmers_of(booking, hearing_of(booking)) if given(record, c) is None]
