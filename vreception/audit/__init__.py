"""The hash-chained audit log: append an event, verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vreception.clock import now
from vreception.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _body(seq: int, at: datetime, actor_id: int | None, action: str, entity_type: str, entity_id: str, data: str) -> str:
    return json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor_id, action, entity_type, entity_id, data],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_hash(prev_hash: str, body: str) -> str:
    """sha256 over the previous hash and the event's canonical body."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: int | str,
    actor_id: int | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller's transaction commits it)."""
    # Bumping the head row first takes its row lock (PostgreSQL) or the write lock (SQLite),
    # so concurrent appenders queue here instead of forking the chain.
    seq, prev = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1).returning(AuditHead.seq, AuditHead.hash)
    ).one()
    at = now()
    payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str)
    digest = event_hash(prev, _body(seq, at, actor_id, action, entity_type, str(entity_id), payload))
    event = AuditEvent(
        seq=seq, at=at, actor_id=actor_id, action=action, entity_type=entity_type,
        entity_id=str(entity_id), data=payload, prev_hash=prev, hash=digest,
    )
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))
    session.flush()
    return event


@dataclass
class ChainReport:
    """The outcome of verifying the chain."""

    ok: bool
    events: int
    problems: list[str] = field(default_factory=list)


def verify(session: Session) -> ChainReport:
    """Recompute every hash and link; report each event that does not match."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        count += 1
        if event.seq != expected_seq:
            problems.append(f"seq {expected_seq}: missing (next found is {event.seq})")
            expected_seq = event.seq
        if event.prev_hash != prev:
            problems.append(f"seq {event.seq}: prev_hash does not match the previous event")
        body = _body(event.seq, event.at, event.actor_id, event.action, event.entity_type, event.entity_id, event.data)
        if event_hash(event.prev_hash, body) != event.hash:
            problems.append(f"seq {event.seq}: content does not match its hash")
        prev = event.hash
        expected_seq += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        problems.append(f"head says seq {head.seq}, chain ends at {count}: events removed or added")
    return ChainReport(ok=not problems, events=count, problems=problems)
