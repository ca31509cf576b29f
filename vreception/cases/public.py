"""What the petitioner sees with the matter number and query code (查询码), and their rating."""

from __future__ import annotations

import hmac
from datetime import date, timedelta
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, documents
from vreception.cases.deadlines import local_day
from vreception.cases.errors import WindowClosed
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.errors import Conflict, DomainError, Invalid, NotFound
from vreception.models import Document, Matter, MatterEvent, MatterState

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意 / 基本满意 / 不满意
# The periods the petitioner is told about; internal ones (remit objection) stay inside.
PUBLIC_DEADLINES = ("acceptance", "handling", "review_request", "review_decision", "recheck_request",
                    "recheck_decision")


class RateLimited(DomainError):
    """Too many failed lookups of a number or from a client in the window (429)."""

    code = "rate_limited"
    status = 429


class Failures(Protocol):
    """Failed attempts counted per key in a window (vreception.ratelimit)."""

    def attempt(self, key: str) -> bool: ...

    def forgive(self, key: str) -> None: ...


class PublicDeadline(BaseModel):
    due: date
    state: str
    provisional: bool


class PublicDocument(BaseModel):
    id: int
    kind: str
    title: str
    number: str
    served_on: date


class PublicView(BaseModel):
    """What the petitioner may see: state, dates, served documents; no other person's data."""

    number: str
    state: str
    received_on: date
    accepted_on: date | None
    served_on: date | None
    deadlines: dict[str, PublicDeadline]
    documents: list[PublicDocument]
    rating: str | None
    can_rate: bool


def find(*, db: Session, protector: Protector, number: str, code: str) -> Matter:
    """The matter with NUMBER if CODE is its query code; the same NotFound for a wrong code or number."""
    matter = db.scalar(select(Matter).where(Matter.number == (number or "")[:40]))
    expected = matter.query_code_hash if matter else "0" * 64
    # Read aloud or copied from paper: any case, spaces anywhere.
    given = protector.lookup_hash("".join((code or "").split()).upper()[:32])
    if matter is None or not hmac.compare_digest(expected, given):
        raise NotFound("error.lookup_failed")
    return matter


def served_documents(matter: Matter, *, db: Session) -> list[Document]:
    """The notices served on the petitioner, oldest first."""
    return list(db.scalars(select(Document).where(Document.matter_id == matter.id,
                                                       Document.served_at.isnot(None)).order_by(Document.id)))


def rating_open(matter: Matter, window_days: int) -> bool:
    """Whether the petitioner may rate now: a reply was served, not rated yet, within the window."""
    return (matter.served_at is not None and matter.rating is None
            and now() <= matter.served_at + timedelta(days=window_days))


def rate(*, db: Session, matter: Matter, rating: str, window_days: int) -> Matter:
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
    db.add(MatterEvent(matter_id=matter.id, action="rate", reason="", data=f'{{"rating": "{rating}"}}',
                            from_state=matter.state.value, to_state=matter.state.value))
    db.flush()
    audit.record(db=db, action="matter.rated", entity_type="matter", entity_id=matter.id, data={"rating": rating})
    return matter


def is_concluded(matter: Matter) -> bool:
    return matter.state in (MatterState.closed, MatterState.final)


def find_matter(*, db: Session, protector: Protector, failures: Failures, number: str, code: str,
                client: str) -> Matter:
    """The matter, counting failed attempts per client so codes cannot be guessed.

    Each attempt is counted before the code is checked, so concurrent guesses cannot slip past the count,
    and a right code takes its attempt back. Failures are not counted per matter number: whoever knows a
    number could then lock its petitioner out; a query code of 10 characters is not guessed from a few
    attempts per address.
    """
    key = f"client:{client}"
    if not failures.attempt(key):
        raise RateLimited("error.rate_limited")
    matter = find(db=db, protector=protector, number=number, code=code)
    failures.forgive(key)
    return matter


def public_view(matter: Matter, *, db: Session, window_days: int) -> PublicView:
    """The matter as its petitioner may see it."""
    return PublicView(
        number=matter.number, state=matter.state.value, received_on=local_day(matter.received_at),
        accepted_on=local_day(matter.accepted_at) if matter.accepted_at else None,
        served_on=local_day(matter.served_at) if matter.served_at else None,
        deadlines={d.kind: PublicDeadline(due=d.due_day, state=d.state.value, provisional=d.provisional)
                   for d in matter.deadlines if d.kind in PUBLIC_DEADLINES and d.state.value != "cancelled"},
        documents=[PublicDocument(id=d.id, kind=d.kind, title=documents.KINDS[d.kind][0], number=d.number,
                                  served_on=local_day(d.served_at))
                   for d in served_documents(matter, db=db) if d.kind in documents.SERVED_KINDS and d.served_at],
        rating=matter.rating, can_rate=rating_open(matter, window_days),
    )


def served_document(matter: Matter, document_id: int, *, db: Session) -> Document:
    """A notice served on the matter's petitioner, or NotFound (unserved and internal ones too)."""
    document = db.scalar(select(Document).where(Document.id == document_id, Document.matter_id == matter.id,
                                                Document.served_at.isnot(None)))
    if document is None or document.kind not in documents.SERVED_KINDS:
        raise NotFound("error.not_found")
    return document
