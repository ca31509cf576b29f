"""The hash-chained audit log: append an event, verify the chain."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Table, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from vreception.audit import signing
from vreception.clock import now
from vreception.db import AUDIT_KEY
from vreception.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _body(seq: int, at: datetime, actor_id: int | None, action: str, entity_type: str, entity_id: str, data: str) -> str:
    return json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor_id, action, entity_type, entity_id, data],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_hash(prev_hash: str, body: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 with the audit key (plain sha256 without one) over the previous hash and the canonical body.

    Keyed, so that whoever can write the database alone cannot recompute the chain after an edit.
    """
    message = (prev_hash + body).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_from_secret(secret: str) -> bytes:
    """The audit chain's key, derived from VRECEPTION_SECRET_KEY (kept outside the database)."""
    return hmac.new(secret.encode("utf-8"), b"vreception audit chain", hashlib.sha256).digest()


def _key(*, db: Session) -> bytes | None:
    key = db.info.get(AUDIT_KEY)
    return key if isinstance(key, bytes) else None


# Declarative types __table__ as a FromClause; these classes map plain Tables.
_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
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
    *,
    db: Session,
    action: str,
    entity_type: str,
    entity_id: int | str,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller's transaction commits it)."""
    # Everything pending goes out before the head is locked: the lock is then held only for the
    # append itself and the commit.
    db.flush()
    at = now()
    payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str)
    entity = str(entity_id)
    seq, prev = db.execute(_BUMP).one()
    digest = event_hash(prev, _body(seq, at, actor_id, action, entity_type, entity, payload), _key(db=db))
    values = {"seq": seq, "at": at, "actor_id": actor_id, "action": action, "entity_type": entity_type,
              "entity_id": entity, "data": payload, "prev_hash": prev, "hash": digest}
    if db.get_bind().dialect.name == "postgresql":
        event_id = db.execute(_INSERT_AND_SET_HASH, {f"ev_{k}": v for k, v in values.items()}).scalar_one()
    else:
        result = db.execute(_INSERT_EVENT, values)
        assert isinstance(result, CursorResult)  # an INSERT answers with a cursor result
        key = result.inserted_primary_key
        assert key is not None  # a single-row INSERT has one
        event_id = key[0]
        db.execute(_SET_HASH, {"new_hash": digest})
    head = db.identity_map.get(_HEAD_KEY)
    if head is not None:  # a head object this session loaded is now stale
        db.expire(head)
    event = AuditEvent(id=event_id, **values)
    # The row is written: the object joins the session as persistent, as a flushed one would.
    make_transient_to_detached(event)
    db.add(event)
    return event


@dataclass
class ChainReport:
    """The outcome of verifying the chain."""

    ok: bool
    events: int
    problems: list[str] = field(default_factory=list)


@dataclass
class Walk:
    """What one pass over part of the chain found: how many events, where it ended, what did not match."""

    events: int
    last_seq: int
    last_hash: str
    problems: list[str] = field(default_factory=list)
    broken_at: int | None = None  # the first seq that did not match


def walk(*, db: Session, after_seq: int = 0, after_hash: str = GENESIS, upto: int | None = None) -> Walk:
    """Recompute the hashes and links of the events after AFTER_SEQ (whose hash is AFTER_HASH), up to UPTO."""
    key = _key(db=db)
    found = Walk(events=0, last_seq=after_seq, last_hash=after_hash)
    prev, expected_seq = after_hash, after_seq + 1
    # Plain rows, not mapped objects: a walk over the whole log must not fill the session's identity map.
    query = select(*(_EVENTS.c[name] for name in _EVENT_COLUMNS)).where(_EVENTS.c.seq > after_seq)
    if upto is not None:
        query = query.where(_EVENTS.c.seq <= upto)

    def problem(seq: int, text: str) -> None:
        found.problems.append(f"seq {seq}: {text}")
        if found.broken_at is None:
            found.broken_at = seq

    for event in db.execute(query.order_by(_EVENTS.c.seq).execution_options(yield_per=1000)):
        found.events += 1
        if event.seq != expected_seq:
            problem(expected_seq, f"missing (next found is {event.seq})")
            expected_seq = event.seq
        if event.prev_hash != prev:
            problem(event.seq, "prev_hash does not match the previous event")
        body = _body(event.seq, event.at, event.actor_id, event.action, event.entity_type, event.entity_id, event.data)
        if event_hash(event.prev_hash, body, key) != event.hash:
            problem(event.seq, "content does not match its hash")
        prev = event.hash
        expected_seq += 1
        found.last_seq = event.seq
    found.last_hash = prev
    return found


def verify(checkpoint: Path | None = None, *, db: Session) -> ChainReport:
    """Recompute every hash and link (and check the chain still holds the CHECKPOINT); report what does not match."""
    found = walk(db=db)
    problems, count = found.problems, found.events
    head = db.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != found.last_hash):
        problems.append(f"head says seq {head.seq}, chain ends at {count}: events removed or added")
    if checkpoint is not None:
        problems += _against_checkpoint(checkpoint, _key(db=db), db=db)
    return ChainReport(ok=not problems, events=count, problems=problems)


def _mac(key: bytes | None, seq: int, digest: str) -> str:
    return hmac.new(key or b"", f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def write_checkpoint(path: Path, *, db: Session) -> int:
    """Anchor the chain's head outside the database: its seq and hash in a signed file (atomic replace)."""
    head = db.get(AuditHead, 1)
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"seq": seq, "hash": digest, "at": now().isoformat(),
                                     "mac": _mac(_key(db=db), seq, digest)}))
    os.replace(temporary, path)
    return seq


def file_checkpoint_problems(path: Path, *, db: Session) -> list[str]:
    """What the chain shows against the signed checkpoint file outside the database (nothing when there is none)."""
    return _against_checkpoint(path, _key(db=db), db=db)


def _against_checkpoint(path: Path, key: bytes | None, *, db: Session) -> list[str]:
    """What a truncated, rewound or recomputed chain shows against the last anchored head."""
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    seq, digest = int(saved["seq"]), str(saved["hash"])
    if not hmac.compare_digest(_mac(key, seq, digest), str(saved.get("mac", ""))):
        return [f"checkpoint {path} is not signed with this installation's key"]
    if seq == 0:
        return []
    at = db.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    if at is None:
        return [f"checkpoint seq {seq}: the chain no longer reaches it (truncated or rewound)"]
    if at != digest:
        return [f"checkpoint seq {seq}: the chain was rewritten up to there"]
    return []


def rekey(*, db: Session, old: bytes, new: bytes, checkpoint: Path | None = None) -> int:
    """Re-key the whole chain from OLD to NEW (key rotation): refused unless it verifies under OLD (and reaches the
    CHECKPOINT signed with it), so a rotation never launders an altered log; how many events were re-keyed."""
    db.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq))  # hold the appenders off
    db.info[AUDIT_KEY] = old
    report = verify(checkpoint, db=db)
    if not report.ok:
        raise ValueError("the audit chain does not verify under the old key: " + "; ".join(report.problems[:3]))
    rewrite = (update(_EVENTS).where(_EVENTS.c.id == bindparam("b_id"))
               .values(prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")))
    kept = signing.still_signed(db=db, key=old)
    prev, last_seq = GENESIS, 0
    while True:
        batch = db.execute(select(_EVENTS).where(_EVENTS.c.seq > last_seq).order_by(_EVENTS.c.seq)
                                .limit(1000)).all()
        if not batch:
            break
        changes = []
        for event in batch:
            body = _body(event.seq, event.at, event.actor_id, event.action, event.entity_type, event.entity_id,
                         event.data)
            digest = event_hash(prev, body, new)
            changes.append({"b_id": event.id, "b_prev": prev, "b_hash": digest})
            prev, last_seq = digest, event.seq
            if event.seq in kept:
                kept[event.seq] = digest
        db.execute(rewrite, changes)
    db.execute(_SET_HASH, {"new_hash": prev})
    signing.resign(db=db, hashes=kept, key=new)
    db.expire_all()
    db.info[AUDIT_KEY] = new
    return report.events
