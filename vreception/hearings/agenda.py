"""The order of proceedings the chair runs in the call: each step written with its offset into the recording."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.errors import DomainError
from vreception.hearings.panel import require_complete
from vreception.models.hearings import AgendaEntry, AgendaStep, Hearing
from vreception.models.recordings import Recording, RecordingState


def of_session(session_id: int, *, db: Session) -> Hearing | None:
    """The hearing held in SESSION_ID, if any."""
    return db.scalar(select(Hearing).where(Hearing.session_id == session_id))


def recording_offset(session_id: int, at: datetime, *, db: Session) -> float | None:
    """Seconds from the start of SESSION_ID's live (or finalised) recording to AT; None when none runs."""
    started = db.scalar(select(Recording.started_at).where(
        Recording.session_id == session_id,
        Recording.state.in_([RecordingState.recording, RecordingState.finalised]))
        .order_by(Recording.id.desc()).limit(1))
    return max(0.0, (at - started).total_seconds()) if started is not None else None


def move(*, db: Session, hearing: Hearing, step: AgendaStep, at: datetime, actor_id: int | None) -> AgendaEntry:
    """The chair moved HEARING to STEP at AT: the hearing's current step, an agenda entry, audited."""
    offset = recording_offset(hearing.session_id, at, db=db) if hearing.session_id is not None else None
    entry = AgendaEntry(hearing_id=hearing.id, step=step, at=at, offset_s=offset, by=actor_id)
    hearing.steps.append(entry)
    hearing.agenda_step = step
    db.flush()
    audit.record(db=db, action="hearing.agenda_step", entity_type="hearing", entity_id=hearing.id, actor_id=actor_id,
                 data={"step": step.value, "offset_s": offset, "session_id": hearing.session_id, "entry_id": entry.id})
    return entry


def short_of(hearing: Hearing, sizes: Sequence[int]) -> DomainError | None:
    """Why HEARING may not go past the opening (a granted 回避 left it without a chair, recorder or full panel)."""
    try:
        require_complete(hearing, sizes)
    except DomainError as exc:
        return exc
    return None


def may_move(hearing: Hearing, step: AgendaStep, sizes: Sequence[int]) -> DomainError | None:
    """None when the chair may move HEARING to STEP: back to the opening always, past it only when complete."""
    return None if step is AgendaStep.opening else short_of(hearing, sizes)
