"""Signatures of audit checkpoints, and keeping them valid through a re-key of the chain."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vreception.models import AuditEvent, AuditHead
from vreception.models.audit import AuditCheckpoint


def _signing_key(key: bytes | None) -> bytes:
    # Its own key, derived from the chain's: a checkpoint's MAC can never pass for an event hash.
    return hmac.new(key or b"", b"vreception audit checkpoint", hashlib.sha256).digest()


def signature(key: bytes | None, *, seq: int, digest: str, created_at: datetime) -> str:
    """The HMAC-SHA256 of a checkpoint's seq, hash and time under the audit KEY."""
    message = f"{seq}:{digest}:{created_at.isoformat(timespec='microseconds')}".encode()
    return hmac.new(_signing_key(key), message, hashlib.sha256).hexdigest()


def is_signed(checkpoint: AuditCheckpoint, key: bytes | None) -> bool:
    """Whether CHECKPOINT carries a valid signature under KEY."""
    expected = signature(key, seq=checkpoint.last_seq, digest=checkpoint.last_hash, created_at=checkpoint.created_at)
    return hmac.compare_digest(expected, checkpoint.signature)


def anchor_problems(checkpoint: AuditCheckpoint, head_seq: int, *, db: Session) -> list[str]:
    """What a truncated, rewound or rewritten chain shows against a signed checkpoint."""
    if checkpoint.last_seq > head_seq:
        return [f"checkpoint seq {checkpoint.last_seq}: the chain no longer reaches it (truncated or rewound)"]
    if checkpoint.last_seq == 0:
        return []
    at = db.scalar(select(AuditEvent.hash).where(AuditEvent.seq == checkpoint.last_seq))
    if at != checkpoint.last_hash:
        return [f"checkpoint seq {checkpoint.last_seq}: the chain was rewritten up to there"]
    return []


def still_signed(*, db: Session, key: bytes | None) -> dict[int, str]:
    """Before a re-key: drop the checkpoints not signed under KEY; the seqs of the others (to re-sign)."""
    kept: dict[int, str] = {}
    forged: list[int] = []
    latest: AuditCheckpoint | None = None
    for checkpoint in db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        if is_signed(checkpoint, key):
            kept[checkpoint.last_seq] = checkpoint.last_hash
            latest = checkpoint
        else:
            forged.append(checkpoint.id)
    if latest is not None:
        head_seq = db.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
        problems = anchor_problems(latest, head_seq, db=db)
        if problems:  # a re-key must not launder a chain rewound behind its own checkpoint
            raise ValueError("; ".join(problems))
    if forged:
        db.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id.in_(forged)))
    return kept


def resign(*, db: Session, hashes: dict[int, str], key: bytes) -> None:
    """After a re-key: each checkpoint takes its seq's new hash and a signature under the new KEY."""
    for checkpoint in db.scalars(select(AuditCheckpoint).where(AuditCheckpoint.last_seq.in_(list(hashes)))):
        checkpoint.last_hash = hashes[checkpoint.last_seq]  # seq 0 (the genesis) keeps its hash
        checkpoint.signature = signature(key, seq=checkpoint.last_seq, digest=checkpoint.last_hash,
                                         created_at=checkpoint.created_at)
    db.flush()
