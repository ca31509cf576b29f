"""The hash-chained audit log: appends link up, tampering is found, concurrent appends don't fork."""

from __future__ import annotations

import threading
from itertools import pairwise

from sqlalchemy import text, update

from vreception import audit
from vreception.models import AuditEvent


def _append(db, n, action="test.event"):
    with db.transaction() as session:
        for i in range(n):
            audit.record(db=session, action=action, entity_type="thing", entity_id=i, data={"i": i, "名": "值"})


def test_chain_verifies_after_appends(db):
    _append(db, 5)
    with db.transaction() as session:
        report = audit.verify(db=session)
        assert report.ok, report.problems
        assert report.events == 5
        events = session.query(AuditEvent).order_by(AuditEvent.seq).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in pairwise(events))


def test_changed_content_is_found(db):
    _append(db, 4)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(data='{"i": 99}'))
    with db.transaction() as session:
        report = audit.verify(db=session)
    assert not report.ok
    assert any(p.startswith("seq 3:") and "content" in p for p in report.problems)


def test_deleted_event_is_found(db):
    _append(db, 4)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    with db.transaction() as session:
        report = audit.verify(db=session)
    assert not report.ok
    assert any("head" in p for p in report.problems)


def test_concurrent_appenders_keep_one_chain(db):
    errors = []

    def worker():
        try:
            for _ in range(5):
                _append(db, 2)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.transaction() as session:
        report = audit.verify(db=session)
    assert report.ok, report.problems
    assert report.events == 40


def _recompute_without_the_key(session) -> None:
    """What someone who can write the database but lacks the secret can do: rebuild the chain with sha256."""
    from sqlalchemy import select

    from vreception.models import AuditHead

    prev = audit.GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        body = audit._body(event.seq, event.at, event.actor_id, event.action, event.entity_type, event.entity_id,
                           event.data)
        event.prev_hash, event.hash = prev, audit.event_hash(prev, body)
        prev = event.hash
    session.get(AuditHead, 1).hash = prev


def test_an_edit_with_the_chain_recomputed_without_the_key_is_found(db):
    _append(db, 4)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(data='{"i": 99}'))
        _recompute_without_the_key(session)
    with db.transaction() as session:
        report = audit.verify(db=session)
    assert not report.ok and len(report.problems) >= 4  # every event's keyed hash differs


def test_the_checkpoint_outside_the_database_shows_truncation_and_rewinding(db, tmp_path):
    checkpoint = tmp_path / "audit" / "checkpoint.json"
    _append(db, 5)
    with db.transaction() as session:
        assert audit.write_checkpoint(checkpoint, db=session) == 5
        assert audit.verify(db=session, checkpoint=checkpoint).ok
    _append(db, 2)
    with db.transaction() as session:
        assert audit.verify(db=session, checkpoint=checkpoint).ok  # growing past the checkpoint is normal
        # Cut the chain back to seq 3 and make the head agree: the chain alone looks whole.
        session.execute(text("DELETE FROM audit_events WHERE seq > 3"))
        head_hash = session.scalar(text("SELECT hash FROM audit_events WHERE seq = 3"))
        session.execute(text("UPDATE audit_head SET seq = 3, hash = :h WHERE id = 1"), {"h": head_hash})
    with db.transaction() as session:
        assert audit.verify(db=session).ok
        report = audit.verify(db=session, checkpoint=checkpoint)
    assert not report.ok and "truncated or rewound" in report.problems[0]


def test_a_forged_checkpoint_is_refused(db, tmp_path):
    import json

    checkpoint = tmp_path / "checkpoint.json"
    _append(db, 2)
    with db.transaction() as session:
        audit.write_checkpoint(checkpoint, db=session)
    saved = json.loads(checkpoint.read_text())
    checkpoint.write_text(json.dumps({**saved, "seq": 1}))
    with db.transaction() as session:
        report = audit.verify(db=session, checkpoint=checkpoint)
    assert not report.ok and "not signed" in report.problems[0]
