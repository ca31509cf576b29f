"""Incremental audit verify: signed checkpoints, only new events read, tampering found, key rotation re-signs."""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from vreception import audit, keys
from vreception.audit import checkpoints
from vreception.models import AuditEvent
from vreception.models.audit import AuditCheckpoint

OLD = "t" * 48  # the test database's audit key (tests.conftest)
NEW = "Kq3-vN8xW2pLr7Ty5Zb4Hc9Jd6Fg1Sm0Ae_Ux2Yw8Qo3Ni7Rk5Pl1Mj4Gh6Bv9Cz"


def _append(db, n):
    with db.transaction() as session:
        for i in range(n):
            audit.record(db=session, action="test.event", entity_type="thing", entity_id=i, data={"i": i})


def _verify(db, full=False):
    with db.transaction() as session:
        return checkpoints.verify(db=session, full=full)


def test_an_incremental_verify_reads_only_the_events_after_the_newest_checkpoint(db):
    _append(db, 30)
    first = _verify(db)
    assert first.ok and first.checked == 30 and first.full and first.from_checkpoint is None
    assert first.checkpoint_seq == 30
    _append(db, 7)
    second = _verify(db)
    assert second.ok, second.problems
    assert (second.checked, second.from_checkpoint, second.full) == (7, 30, False)
    assert _verify(db).checked == 0  # nothing new since the last checkpoint
    full = _verify(db, full=True)
    assert full.ok and full.checked == 37 and full.from_checkpoint is None
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 4


def test_a_tampered_event_before_the_checkpoint_escapes_the_incremental_walk_and_is_found_by_the_full_one(db):
    _append(db, 10)
    assert _verify(db).ok
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(data='{"i": 99}'))
    _append(db, 2)
    incremental = _verify(db)
    assert incremental.ok and incremental.checked == 2  # by design: it trusts the signed checkpoint
    full = _verify(db, full=True)
    assert not full.ok and full.broken_at == 4 and full.checked == 12
    assert full.checkpoint_seq is None  # a broken chain is never anchored


def test_a_tampered_event_after_the_checkpoint_is_found_incrementally(db):
    _append(db, 5)
    assert _verify(db).ok
    _append(db, 5)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 8).values(action="test.other"))
    report = _verify(db)
    assert not report.ok and report.broken_at == 8 and report.from_checkpoint == 5 and report.checked == 5


def test_a_forged_checkpoint_signature_falls_back_to_the_full_walk(db):
    _append(db, 6)
    assert _verify(db).ok
    _append(db, 3)
    with db.transaction() as session:
        # Someone moves the anchor past a change they want hidden (they cannot sign it without the key).
        session.execute(update(AuditCheckpoint).values(last_seq=8))
    report = _verify(db)
    assert report.ok and report.rejected_checkpoint is not None
    assert report.full and report.checked == 9 and report.from_checkpoint is None


def test_a_chain_rewound_behind_its_checkpoint_is_found(db):
    _append(db, 6)
    assert _verify(db).ok
    with db.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq > 3"))
        head_hash = session.scalar(text("SELECT hash FROM audit_events WHERE seq = 3"))
        session.execute(text("UPDATE audit_head SET seq = 3, hash = :h WHERE id = 1"), {"h": head_hash})
    report = _verify(db)
    assert not report.ok and "truncated or rewound" in report.problems[0]


def test_key_rotation_re_signs_the_checkpoints_so_the_next_verify_stays_incremental(db):
    _append(db, 8)
    assert _verify(db).ok
    try:
        with db.transaction() as session:
            keys.rotate(db=session, old_secret=OLD, new_secret=NEW)
        db.use_audit_key(audit.key_from_secret(NEW))
        report = _verify(db)
        # Only the rotation's own event is new; the re-signed checkpoint holds under the new key.
        assert report.ok, report.problems
        assert (report.checked, report.from_checkpoint, report.rejected_checkpoint) == (1, 8, None)
        assert _verify(db, full=True).ok
        db.use_audit_key(audit.key_from_secret(OLD))  # a verifier with the old key trusts no checkpoint
        stale = _verify(db)
        assert not stale.ok and stale.rejected_checkpoint is not None and stale.full
    finally:
        db.use_audit_key(audit.key_from_secret(OLD))  # the cached test database outlives this test


def test_an_admins_verify_is_audited(db, org):
    _append(db, 2)
    with db.transaction() as session:
        before = session.scalar(select(func.max(AuditEvent.seq)))
        report = checkpoints.verify(db=session, actor_id=org.people["admin"].id)
    assert report.ok
    with db.transaction() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert last.action == "audit.verified" and last.seq == before + 1
    assert _verify(db).checked == 1


def test_the_command_line_says_what_it_read(tmp_path):
    from tests.core.test_cli import run
    from vreception import org
    from vreception.db import Database

    run(["db", "upgrade"], tmp_path)
    secret = "audit-test-" + "k9X2" * 10
    database = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    database.use_audit_key(audit.key_from_secret(secret))
    with database.transaction() as session:
        org.create_node(db=session, code="580000", name="青岚省", level="province")
        org.create_node(db=session, code="580100", name="岚州市", level="city", parent_id=1)
    keyed = {"VRECEPTION_MODE": "dev", "VRECEPTION_SECRET_KEY": secret}
    assert "ok: 2 events checked from the genesis (full)" in run(["audit", "verify"], tmp_path, keyed).stdout
    with database.transaction() as session:
        org.create_node(db=session, code="580200", name="云州市", level="city", parent_id=1)
    database.dispose()
    assert "ok: 1 events checked from checkpoint seq 2" in run(["audit", "verify"], tmp_path, keyed).stdout
    assert "ok: 3 events checked from the genesis" in run(["audit", "verify", "--full"], tmp_path, keyed).stdout
