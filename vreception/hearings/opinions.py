"""A panel member's opinion (听证员意见): given after the deliberation began, editable until the 笔录 is frozen."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from vreception import audit
from vreception.clock import now
from vreception.errors import Conflict, Forbidden, Invalid
from vreception.hearings.record import deliberation_begun, frozen, seat_of
from vreception.models.hearings import Hearing, PanelMember

MAX_OPINION_CHARS = 10_000


def record_opinion(*, db: Session, hearing: Hearing, person_id: int, text: str) -> PanelMember:
    """PERSON_ID's opinion on HEARING as a sitting panel member; audited with its hash."""
    member = seat_of(hearing, person_id)
    if member is None:
        raise Forbidden()
    text = (text or "").strip()
    if not text:
        raise Invalid("error.opinion_required", field="opinion")
    if len(text) > MAX_OPINION_CHARS:
        raise Invalid("error.invalid_field", field="opinion", reason=f"≤ {MAX_OPINION_CHARS}")
    if not deliberation_begun(hearing, db=db):
        raise Conflict("error.opinion_too_early", field="opinion")
    if frozen(hearing, db=db):
        raise Conflict("error.opinion_frozen", field="opinion")
    changed = member.opinion_at is not None
    member.opinion, member.opinion_at = text, now()
    db.flush()
    audit.record(db=db, action="hearing.opinion_recorded", entity_type="hearing", entity_id=hearing.id,
                 actor_id=person_id, data={"panel_member_id": member.id, "changed": changed,
                                           "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()})
    return member
