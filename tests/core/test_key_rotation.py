"""A rotated VRECEPTION_SECRET_KEY: `keys rotate` moves personal data, lookup hashes and the audit chain to the new
key; data left under the old key answers a coded error page, not a traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.factories import FreshHeaders, id_number, page_client
from vreception import audit, keys
from vreception.app import create_app
from vreception.cases.identity import credit_check_character
from vreception.models import AuditEvent, Petitioner

OLD = "t" * 48  # tests.factories.app_settings' secret, which the test database's audit chain is keyed with
NEW = "Kq3-vN8xW2pLr7Ty5Zb4Hc9Jd6Fg1Sm0Ae_Ux2Yw8Qo3Ni7Rk5Pl1Mj4Gh6Bv9Cz"
CREDIT_FIRST17 = "91580102MA1234567"


def _register(client, org, serial: int) -> dict:
    body = {"petitioners": [{"name": "张三", "id_number": id_number(serial), "phone": "13800138000",
                             "address": "桃源镇幸福村3组"},
                            {"kind": "legal_person", "name": "桃源农机合作社",
                             "credit_code": CREDIT_FIRST17 + credit_check_character(CREDIT_FIRST17),
                             "phone": "0571-8888888"}],
            "origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id,
            "demands": [{"summary": "拖欠工资", "category": "wages"}], "channel": "video"}
    response = client.post("/api/v1/matters", headers=FreshHeaders(client, "coord.county"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _petitioners(client, matter_id: int) -> list[dict]:
    response = client.get(f"/api/v1/matters/{matter_id}", headers=FreshHeaders(client, "coord.county"))
    assert response.status_code == 200, response.text
    return sorted(response.json()["petitioners"], key=lambda p: p["id"])


@pytest.fixture
def restore_the_audit_key(db):
    yield
    db.use_audit_key(audit.key_from_secret(OLD))  # the cached test database outlives this test


def test_after_rotation_every_number_reads_and_finds_as_before_and_the_chain_verifies_under_the_new_key(
        client, org, settings, db, restore_the_audit_key):
    matter = _register(client, org, 3)
    before = _petitioners(client, matter["id"])
    assert before[0]["id_number"] == id_number(3) and before[0]["address"] == "桃源镇幸福村3组"
    with db.transaction() as session:
        done = keys.rotate(db=session, old_secret=OLD, new_secret=NEW)
    assert (done.petitioners, done.query_codes_left) == (2, 1) and done.audit_events > 5
    db.use_audit_key(audit.key_from_secret(NEW))  # the server restarted with the new key
    with TestClient(create_app(settings.model_copy(update={"secret_key": NEW}), db)) as rotated:
        assert _petitioners(rotated, matter["id"]) == before
        # The lookup hashes were re-keyed: the same person and the same organisation are found again.
        again = _register(rotated, org, 3)
        assert [p["id"] for p in _petitioners(rotated, again["id"])] == [p["id"] for p in before]
    with db.transaction() as session:
        assert audit.verify(db=session).ok
        session.info["audit_key"] = audit.key_from_secret(OLD)
        assert not audit.verify(db=session).ok
        rotated_event = session.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotated"))
        assert rotated_event is not None and '"petitioners": 2' in rotated_event.data


def test_a_wrong_old_key_changes_nothing(client, org, db):
    _register(client, org, 4)
    with db.transaction() as session:
        ciphers = [(p.id_cipher, p.id_hash) for p in session.scalars(select(Petitioner).order_by(Petitioner.id))]
    with pytest.raises(ValueError, match="does not verify under the old key"):
        with db.transaction() as session:
            keys.rotate(db=session, old_secret="w" * 48, new_secret=NEW)
    with db.transaction() as session:
        assert [(p.id_cipher, p.id_hash) for p in session.scalars(select(Petitioner).order_by(Petitioner.id))] == ciphers
        assert audit.verify(db=session).ok


def test_data_under_another_key_answers_a_coded_error_page_not_a_traceback(client, org, settings, db):
    matter = _register(client, org, 5)
    other = create_app(settings.model_copy(update={"secret_key": NEW}), db)
    browser = page_client(other, "coord.county")
    page = browser.get(f"/matters/{matter['id']}")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "VRECEPTION_SECRET_KEY" in page.text and "vreception keys rotate" in page.text
    assert "Traceback" not in page.text and "InvalidTag" not in page.text


def test_a_rotation_never_launders_a_log_rewound_behind_its_checkpoint(client, org, db, tmp_path):
    _register(client, org, 6)
    checkpoint = tmp_path / "checkpoint.json"
    with db.transaction() as session:
        last = audit.write_checkpoint(checkpoint, db=session)
    with db.engine.begin() as connection:  # the last event removed and the head rewound: the chain itself verifies
        previous = connection.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": last - 1}).scalar()
        connection.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
        connection.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last - 1, "h": previous})
    with pytest.raises(ValueError, match="no longer reaches it"):
        with db.transaction() as session:
            keys.rotate(db=session, old_secret=OLD, new_secret=NEW, checkpoint=checkpoint)
