"""Signed checkpoints of the audit chain: an incremental verify starts at the newest one it can trust."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.audit import signing
from vreception.clock import now
from vreception.db import AUDIT_KEY
from vreception.models import AuditHead
from vreception.models.audit import AuditCheckpoint


def _key(*, db: Session) -> bytes | None:
    key = db.info.get(AUDIT_KEY)
    return key if isinstance(key, bytes) else None


def write(*, db: Session, seq: int, digest: str) -> AuditCheckpoint:
    """Record a verified point of the chain, signed with the session's audit key (flushes)."""
    created = now()
    checkpoint = AuditCheckpoint(last_seq=seq, last_hash=digest, created_at=created,
                                 signature=signing.signature(_key(db=db), seq=seq, digest=digest, created_at=created))
    db.add(checkpoint)
    db.flush()
    return checkpoint


def newest(*, db: Session) -> AuditCheckpoint | None:
    """The most recent checkpoint, signed or not."""
    return db.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


@dataclass
class Verification:
    """What a verify read and found."""

    ok: bool
    checked: int  # events whose hash and link were recomputed
    full: bool
    from_checkpoint: int | None  # the seq the walk started after (None: from the genesis)
    seconds: float
    problems: list[str] = field(default_factory=list)
    broken_at: int | None = None
    rejected_checkpoint: int | None = None  # the id of a newest checkpoint whose signature did not hold
    checkpoint_seq: int | None = None  # where the new checkpoint was written (None when the chain is broken)


def verify(*, db: Session, full: bool = False, actor_id: int | None = None) -> Verification:
    """Verify the chain: from the newest signed checkpoint (or, FULL, from the genesis) up to the head.

    A success writes a new checkpoint at the head; an ACTOR's verify is audited.
    """
    started = time.monotonic()
    key = _key(db=db)
    head = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, audit.GENESIS)
    problems: list[str] = []
    broken_at: int | None = None
    after_seq, after_hash, rejected, start = 0, audit.GENESIS, None, None
    checkpoint = newest(db=db)
    if checkpoint is not None and not signing.is_signed(checkpoint, key):
        rejected, checkpoint, full = checkpoint.id, None, True  # a forged anchor is no start: walk everything
    if checkpoint is not None:
        problems += signing.anchor_problems(checkpoint, head_seq, db=db)
        if problems:
            broken_at, full = min(checkpoint.last_seq, head_seq + 1), True
        elif not full:
            after_seq, after_hash, start = checkpoint.last_seq, checkpoint.last_hash, checkpoint.last_seq
    found = audit.walk(db=db, after_seq=after_seq, after_hash=after_hash, upto=head_seq)
    problems += found.problems
    broken_at = broken_at if broken_at is not None else found.broken_at
    if found.last_seq != head_seq or found.last_hash != head_hash:
        problems.append(f"head says seq {head_seq}, chain ends at {found.last_seq}: events removed or added")
        broken_at = broken_at if broken_at is not None else found.last_seq + 1
    result = Verification(ok=not problems, checked=found.events, full=start is None,
                          from_checkpoint=start, seconds=0.0, problems=problems,
                          broken_at=broken_at, rejected_checkpoint=rejected)
    if result.ok:
        result.checkpoint_seq = write(db=db, seq=head_seq, digest=head_hash).last_seq
    result.seconds = time.monotonic() - started
    if actor_id is not None:
        audit.record(db=db, action="audit.verified", entity_type="installation", entity_id="audit_chain",
                     actor_id=actor_id, data={"ok": result.ok, "checked": result.checked, "full": result.full,
                                              "from_checkpoint": result.from_checkpoint, "broken_at": broken_at})
    return result
