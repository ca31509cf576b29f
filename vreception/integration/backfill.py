"""Backfill: the feed of matters registered before it existed, rebuilt from their timeline and documents.

Idempotent: only matters without any change in the feed are filled. A rebuilt change is marked `backfilled` and
placed at the handling body the matter has now (the history does not keep every earlier body's path)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.documents import KINDS
from vreception.integration import record
from vreception.models import Document, Matter, MatterEvent
from vreception.models.integration import IntegrationChange

BATCH = 200


@dataclass(frozen=True)
class _Past:
    at: datetime
    order: int  # within the same instant: the action's documents after its state change, services last
    kind: str
    payload: dict[str, Any]
    state: str | None  # the state the change left (None: the state then, found from the timeline)


def _timeline(matter: Matter, *, db: Session) -> list[_Past]:
    past: list[_Past] = []
    for event in db.scalars(select(MatterEvent).where(MatterEvent.matter_id == matter.id)
                            .order_by(MatterEvent.at, MatterEvent.id)):
        data = json.loads(event.data or "{}")
        unit = data.get("to_node_name") if isinstance(data, dict) else None
        if event.action == "register":
            past.append(_Past(matter.registered_at, 0, record.REGISTERED, {}, event.to_state))
        elif event.action in record.HANDOVERS and unit:
            past.append(_Past(event.at, 1, record.HANDED_OVER,
                              record.handover_fields(event.action, event.at, str(unit)), event.to_state))
        elif event.from_state and event.to_state and event.from_state != event.to_state:
            past.append(_Past(event.at, 1, record.STATE, {"action": event.action, "from_state": event.from_state},
                              event.to_state))
    for document in db.scalars(select(Document).where(Document.matter_id == matter.id).order_by(Document.id)):
        name = KINDS.get(document.kind, (document.kind, ""))[0]
        fields = record.document_fields(document, name)
        issued = {k: {f: v for f, v in d.items() if f not in ("served_on", "method")} for k, d in fields.items()}
        past.append(_Past(document.issued_at, 2, record.ISSUED, issued, None))
        if document.served_at is not None:
            past.append(_Past(document.served_at, 3, record.SERVED, fields, None))
    return sorted(past, key=lambda p: (p.at, p.order))


def _fill(matter: Matter, *, db: Session) -> int:
    state = None
    written = 0
    for past in _timeline(matter, db=db):
        state = past.state or state
        record.write(db=db, matter=matter, kind=past.kind, occurred_at=past.at, payload=past.payload, backfilled=True,
                     state=state)
        written += 1
    return written


def missing(*, db: Session, limit: int = BATCH) -> list[int]:
    """Ids of matters with no change in the feed yet (at most LIMIT, oldest first)."""
    has_any = exists(select(IntegrationChange.id).where(IntegrationChange.matter_id == Matter.id))
    return list(db.scalars(select(Matter.id).where(~has_any).order_by(Matter.id).limit(limit)))


def backfill_batch(*, db: Session, actor_id: int | None = None, limit: int = BATCH) -> tuple[int, int]:
    """Fill the feed of up to LIMIT matters that have none: (matters filled, changes written)."""
    ids = missing(db=db, limit=limit)
    if not ids:
        return 0, 0
    # Audited first: the audit head's lock is taken before the integration head's, as in every writer.
    audit.record(db=db, action="integration.backfilled", entity_type="integration", entity_id="feed",
                 actor_id=actor_id, data={"matters": len(ids), "first": ids[0], "last": ids[-1]})
    changes = 0
    for matter_id in ids:
        matter = db.get(Matter, matter_id)
        assert matter is not None  # just listed
        changes += _fill(matter, db=db)
    return len(ids), changes
