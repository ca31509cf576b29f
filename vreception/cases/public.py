"""What the petitioner sees with the matter number and query code (查询码), and their rating."""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.errors import WindowClosed
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.errors import Conflict, Invalid, NotFound
from vreception.models import Document, Matter, MatterEvent, MatterState

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意 / 基本满意 / 不满意


def find(session: Session, *, protector: Protector, number: str, code: str) -> Matter:
    """The matter with NUMBER if CODE is its query code; the same NotFound for a wrong code or number."""
    matter = session.scalar(select(Matter).where(Matter.number == (number or "")[:40]))
    expected = matter.query_code_hash if matter else "0" * 64
    given = protector.lookup_hash((code or "").strip().upper()[:32])
    if matter is None or not hmac.compare_digest(expected, given):
        raise NotFound("error.lookup_failed")
    return matter


def served_documents(session: Session, matter: Matter) -> list[Document]:
    """The notices served on the petitioner, oldest first."""
    return list(session.scalars(select(Document).where(Document.matter_id == matter.id,
                                                       Document.served_at.isnot(None)).order_by(Document.id)))


def rating_open(matter: Matter, window_days: int) -> bool:
    """Whether the petitioner may rate now: a reply was served, not rated yet, within the window."""
    return (matter.served_at is not None and matter.rating is None
            and now() <= matter.served_at + timedelta(days=window_days))


def rate(session: Session, *, matter: Matter, rating: str, window_days: int) -> Matter:
    """Record the petitioner's rating (满意度评价) once, within the rating window."""
    if rating not in RATINGS:
        raise Invalid("error.rating_unknown", field="rating")
    if matter.served_at is None:
        raise WindowClosed("error.rating_not_yet")
    if matter.rating is not None:
        raise Conflict("error.already_rated", field="rating")
    if not rating_open(matter, window_days):
        raise WindowClosed("error.rating_window_closed")
    matter.rating, matter.rated_at = rating, now()
    session.add(MatterEvent(matter_id=matter.id, action="rate", reason="", data=f'{{"rating": "{rating}"}}',
                            from_state=matter.state.value, to_state=matter.state.value))
    session.flush()
    audit.record(session, action="matter.rated", entity_type="matter", entity_id=matter.id, data={"rating": rating})
    return matter


def is_concluded(matter: Matter) -> bool:
    return matter.state in (MatterState.closed, MatterState.final)
