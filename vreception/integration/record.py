"""Writing the feed: one row per state change, document issued and service, in the writer's transaction.

The services call these right after their audit event, so the transaction already holds the audit head's lock
when it takes the integration head's (always in that order: no deadlock between them). Each row carries only what
the 网上办理 rules disclose: 登记日期, the 转送/交办 date and the receiving unit's name, each notice (意见书 apart)
with its kind, number and dates, and the matter's state. No petitioner, no ID number, no phone, no text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vreception.cases.deadlines import local_day
from vreception.clock import now
from vreception.models import Document, Matter, MatterState
from vreception.models.integration import IntegrationChange, IntegrationHead

REGISTERED, STATE, HANDED_OVER = "matter.registered", "matter.state", "matter.handed_over"
ISSUED, SERVED = "document.issued", "document.served"
KINDS = (REGISTERED, STATE, HANDED_OVER, ISSUED, SERVED)
# Actions that move the matter to another body (Arts. 22, 23): transfer 转送, assign 交办, and an objection
# (异议) that sends it back to the office that handed it over.
HANDOVERS = {"transfer": "transfer", "assign": "assign", "object_remit": "return"}
# 信访处理意见书 and the 复查 / 复核 opinions; every other document is a notice (告知书, 通知书, 笔录 …).
OPINIONS = ("reply_opinion", "review_opinion", "recheck_opinion")


def day(moment: datetime | None) -> str | None:
    """The calendar day of MOMENT in the platform's time zone, ISO 8601 (None stays None)."""
    return local_day(moment).isoformat() if moment is not None else None


def _next_id(*, db: Session) -> int:
    # Insert-or-bump the one head row: the row lock taken here is held until commit, so the next writer gets the
    # next id only after this one's rows are visible. A rolled-back writer rolls its bump back: no holes.
    table = IntegrationHead.__table__
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(table).values(id=1, last=1)
                 .on_conflict_do_update(index_elements=[table.c.id], set_={"last": table.c.last + 1})
                 .returning(table.c.last))
    return int(db.execute(statement).scalar_one())


def write(*, db: Session, matter: Matter, kind: str, occurred_at: datetime, payload: dict[str, Any],
          backfilled: bool = False, state: str | None = None) -> int:
    """Append one change of MATTER to the feed (flushes first; the caller's transaction commits it); its id.

    STATE: the matter's state then, when a backfill writes a change of the past (default: its state now)."""
    db.flush()
    change_id = _next_id(db=db)
    body = {"state": state or matter.state.value, "registered_on": day(matter.registered_at), **payload}
    db.execute(insert(IntegrationChange).values(
        id=change_id, matter_id=matter.id, matter_number=matter.number, kind=kind, occurred_at=occurred_at,
        recorded_at=now(), node_path=matter.handling_path, backfilled=backfilled,
        payload=json.dumps(body, ensure_ascii=False, sort_keys=True)))
    return change_id


def document_fields(document: Document, name: str) -> dict[str, Any]:
    """What the feed says of a document: its kind and name, number, and the days it was issued and served."""
    fields: dict[str, Any] = {"kind": document.kind, "name": name, "number": document.number,
                              "issued_on": day(document.issued_at)}
    if document.served_at is not None:
        fields.update(served_on=day(document.served_at), method=document.served_method)
    return {"opinion" if document.kind in OPINIONS else "notice": fields}


def handover_fields(action: str, at: datetime, unit: str) -> dict[str, Any]:
    """A hand-over: transfer / assign / return, its day (转交日期) and the receiving unit's name."""
    return {"handover": {"kind": HANDOVERS[action], "on": day(at), "to": unit}}


def registered(*, db: Session, matter: Matter) -> None:
    """登记: the matter entered the feed."""
    write(db=db, matter=matter, kind=REGISTERED, occurred_at=matter.registered_at, payload={})


def matter_changed(*, db: Session, matter: Matter, action: str, before: MatterState, at: datetime,
                   unit: str | None) -> None:
    """An action of the matter's state machine: a hand-over, or a change of state (others leave no row)."""
    if action in HANDOVERS and unit:
        write(db=db, matter=matter, kind=HANDED_OVER, occurred_at=at, payload=handover_fields(action, at, unit))
    elif matter.state is not before:
        write(db=db, matter=matter, kind=STATE, occurred_at=at,
              payload={"action": action, "from_state": before.value})


def document_issued(*, db: Session, matter: Matter, document: Document, name: str) -> None:
    """A document (告知书, 意见书, 笔录 …) was issued on the matter."""
    write(db=db, matter=matter, kind=ISSUED, occurred_at=document.issued_at, payload=document_fields(document, name))


def document_served(*, db: Session, document: Document, name: str) -> None:
    """A document was served (送达) on the petitioner: its method and day."""
    matter = db.get(Matter, document.matter_id)
    assert matter is not None  # a foreign key
    assert document.served_at is not None  # documents.serve set it
    write(db=db, matter=matter, kind=SERVED, occurred_at=document.served_at, payload=document_fields(document, name))
