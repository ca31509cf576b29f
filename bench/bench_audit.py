"""Audit chain verification: events per second of a full walk and of an incremental one (from the newest signed
checkpoint) over 200,000 generated events on PostgreSQL.

The chain is bulk-inserted with the real keyed hashes (as `audit.record` would have written it); then a full verify
anchors a checkpoint, 2,000 more events are appended, and the incremental verify reads only those.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text, update

from vreception import audit
from vreception.audit import checkpoints
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models import AuditEvent, AuditHead

POSTGRES_URL = os.environ.get("VRECEPTION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
EVENTS = int(os.environ.get("VRECEPTION_BENCH_AUDIT_EVENTS", "200000"))
APPENDED = 2000
KEY = audit.key_from_secret("bench-" + "k" * 42)
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _fresh_schema(schema: str) -> str:
    """Drop and create SCHEMA in the PostgreSQL database; its URL."""
    admin = Database(POSTGRES_URL, pool_size=1)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _generate(db: Database, count: int) -> None:
    """COUNT chained events (no actor: the people table stays empty), and the head that ends them."""
    prev, batch = audit.GENESIS, []
    with db.transaction() as session:
        for seq in range(1, count + 1):
            at = START + timedelta(seconds=seq)
            data = json.dumps({"n": seq}, sort_keys=True)
            body = audit._body(seq, at, None, "bench.event", "matter", str(seq % 5000), data)
            digest = audit.event_hash(prev, body, KEY)
            batch.append({"seq": seq, "at": at, "actor_id": None, "action": "bench.event", "entity_type": "matter",
                          "entity_id": str(seq % 5000), "data": data, "prev_hash": prev, "hash": digest})
            prev = digest
            if len(batch) == 5000:
                session.execute(insert(AuditEvent), batch)
                batch = []
        if batch:
            session.execute(insert(AuditEvent), batch)
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=count, hash=prev))


def _measure(db: Database, name: str, *, full: bool) -> checkpoints.Verification:
    with db.transaction() as session:
        done = checkpoints.verify(db=session, full=full)
    assert done.ok, done.problems[:3]
    print(f"bench: {name}_events {done.checked} events", flush=True)
    print(f"bench: {name}_seconds {done.seconds:.3f} s", flush=True)
    print(f"bench: {name}_rate {done.checked / max(done.seconds, 1e-9):.0f} events/s", flush=True)
    return done


def main() -> None:
    """Print full and incremental verify throughput on PostgreSQL."""
    try:
        url = _fresh_schema("vrbench_audit")
    except Exception as exc:  # no server: say so
        print(f"# postgresql unavailable: {exc!r}")
        return
    upgrade(url)
    db = Database(url)
    db.use_audit_key(KEY)
    try:
        _generate(db, EVENTS)
        _measure(db, "audit_verify_full", full=True)  # also anchors the first checkpoint
        with db.transaction() as session:
            for i in range(APPENDED):
                audit.record(db=session, action="bench.appended", entity_type="thing", entity_id=i)
        incremental = _measure(db, "audit_verify_incremental", full=False)
        assert incremental.checked == APPENDED and incremental.from_checkpoint == EVENTS
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
