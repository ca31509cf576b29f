"""The hash-chained audit log: append an event, verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

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


_HEAD = AuditHead.__table__
_EVENTS = AuditEvent.__table__
_EVENT_COLUMNS = ("seq", "at", "actor_id", "action", "entity_type", "entity_id", "data", "prev_hash", "hash")
# Bumping the head row first takes its row lock (PostgreSQL) or the write lock (SQLite),
# so concurrent appenders queue here instead of forking the chain.
_BUMP = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1)
         .returning(_HEAD.c.seq, _HEAD.c.hash))
_INSERT_EVENT = insert(_EVENTS)
_SET_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("new_hash", type_=_HEAD.c.hash.type))


def _insert_and_set_hash() -> Update:
    """PostgreSQL: the event row and the head's new hash in one statement (one round trip under the lock)."""
    written = (insert(_EVENTS).values({name: bindparam(f"ev_{name}", type_=_EVENTS.c[name].type)
                                       for name in _EVENT_COLUMNS})
               .returning(_EVENTS.c.id, _EVENTS.c.seq).cte("written"))
    # Joined on seq: the head row this transaction bumped is the one the event extends.
    return (update(_HEAD).where(_HEAD.c.id == 1, _HEAD.c.seq == written.c.seq)
            .values(hash=bindparam("ev_hash", type_=_HEAD.c.hash.type)).returning(written.c.id))


_INSERT_AND_SET_HASH = _insert_and_set_hash()
_HEAD_KEY = identity_key(AuditHead, 1)


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
    # Everything pending goes out before the head is locked: the lock is then held only for the
    # append itself and the commit.
    session.flush()
    at = now()
    payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str)
    entity = str(entity_id)
    seq, prev = session.execute(_BUMP).one()
    digest = event_hash(prev, _body(seq, at, actor_id, action, entity_type, entity, payload))
    values = {"seq": seq, "at": at, "actor_id": actor_id, "action": action, "entity_type": entity_type,
              "entity_id": entity, "data": payload, "prev_hash": prev, "hash": digest}
    if session.get_bind().dialect.name == "postgresql":
        event_id = session.execute(_INSERT_AND_SET_HASH, {f"ev_{k}": v for k, v in values.items()}).scalar_one()
    else:
        event_id = session.execute(_INSERT_EVENT, values).inserted_primary_key[0]
        session.execute(_SET_HASH, {"new_hash": digest})
    head = session.identity_map.get(_HEAD_KEY)
    if head is not None:  # a head object this session loaded is now stale
        session.expire(head)
    event = AuditEvent(id=event_id, **values)
    # The row is written: the object joins the session as persistent, as a flushed one would.
    make_transient_to_detached(event)
    session.add(event)
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
