"""The hash-chained audit log: appends link up, tampering is found, concurrent appends don't fork."""

from __future__ import annotations

import threading

from sqlalchemy import text, update

from vreception import audit
from vreception.models import AuditEvent


def _append(db, n, action="test.event"):
    with db.transaction() as session:
        for i in range(n):
            audit.record(session, action=action, entity_type="thing", entity_id=i, data={"i": i, "名": "值"})


def test_chain_verifies_after_appends(db):
    _append(db, 5)
    with db.transaction() as session:
        report = audit.verify(session)
        assert report.ok, report.problems
        assert report.events == 5
        events = session.query(AuditEvent).order_by(AuditEvent.seq).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))


def test_changed_content_is_found(db):
    _append(db, 4)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(data='{"i": 99}'))
    with db.transaction() as session:
        report = audit.verify(session)
    assert not report.ok
    assert any(p.startswith("seq 3:") and "content" in p for p in report.problems)


def test_deleted_event_is_found(db):
    _append(db, 4)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    with db.transaction() as session:
        report = audit.verify(session)
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
        report = audit.verify(session)
    assert report.ok, report.problems
    assert report.events == 40
