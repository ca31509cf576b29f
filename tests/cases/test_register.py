"""Registering matters: validation, protected ID numbers, numbering, query codes, repeats, nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tests.factories import id_number, login, matter_body, register
from vreception.models import AuditEvent, Demand, Matter, Petitioner


def _counts(db):
    with db.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Matter, Petitioner, Demand, AuditEvent))


def test_register_returns_number_query_code_and_deadlines(client, org):
    matter, _ = register(client, org)
    assert matter["state"] == "registered"
    assert matter["number"].startswith("580102-") and matter["number"].endswith("-00001")
    assert len(matter["query_code"]) == 10
    # No objection window: the office that registered it is not a body it was handed over to (Art. 23).
    assert set(matter["deadlines"]) == {"acceptance"}
    assert "object_remit" not in [a["action"] for a in matter["allowed_actions"]]
    assert matter["petitioners"][0]["id_number"] == id_number(1)  # the handling office sees it in full
    assert [a["action"] for a in matter["allowed_actions"]][:2] == ["accept", "not_accept"]
    second, _ = register(client, org, serial=2, summary="另一件事：宅基地纠纷", category="land")
    assert second["number"].endswith("-00002")
    assert second["query_code"] != matter["query_code"]


def test_id_numbers_are_not_stored_in_plain_text(client, org, db):
    register(client, org)
    with db.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM petitioners")))
        audit_dump = " ".join(str(row) for row in connection.execute(text("SELECT data FROM audit_events")))
    assert id_number(1) not in dump and "13800138000" not in dump
    assert id_number(1) not in audit_dump


def test_others_see_masked_id_numbers(client, org, db):
    matter, _ = register(client, org)
    leader = login(client, "leader.county")
    shown = client.get(f"/api/v1/matters/{matter['id']}", headers=leader).json()
    assert shown["petitioners"][0]["id_number"] == "*" * 14 + id_number(1)[-4:]
    assert shown["petitioners"][0]["phone"] == "*******8000"
    assert "query_code" not in shown


@pytest.mark.parametrize("change, status, code, field", [
    ({"petitioners": [{"name": "李四", "id_number": "580102197001010011"}]}, 422, "invalid", "petitioners.0.id_number"),
    ({"petitioners": [{"name": "李四", "id_number": "58010219700101001"}]}, 422, "invalid", "petitioners.0.id_number"),
    ({"petitioners": [{"name": "李四", "id_number": "580102197013010013"}]}, 422, "invalid", "petitioners.0.id_number"),
    ({"petitioners": []}, 422, "invalid", "petitioners"),
    ({"demands": [{"summary": "x", "category": "astrology"}]}, 422, "invalid", "demands.0.category"),
    ({"demands": [{"summary": "  ", "category": "wages"}]}, 422, "invalid", "demands.0.summary"),
    ({"demands": []}, 422, "invalid", "demands"),
    ({"channel": "pigeon"}, 422, "invalid", "channel"),
    ({"received_at": "2999-01-01T00:00:00+08:00"}, 422, "invalid", "received_at"),
    ({"origin_node_id": 99999}, 404, "not_found", "origin_node_id"),
    ({"petitioners": [{"name": f"群众{i}", "id_number": id_number(100 + i)} for i in range(8)],
      "representatives": [0, 1, 2, 3, 4, 5]}, 422, "too_many_representatives", "representatives"),
    ({"petitioners": [{"name": f"群众{i}", "id_number": id_number(100 + i)} for i in range(8)]},
     422, "too_many_representatives", "representatives"),
])
def test_bad_registrations_write_nothing(client, org, db, change, status, code, field):
    headers = login(client, "coord.county")
    before = _counts(db)
    body = matter_body(org)
    body.update(change)
    response = client.post("/api/v1/matters", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["field"] == field
    assert response.json()["detail"]
    assert _counts(db) == before


def test_group_with_five_representatives_is_fine(client, org):
    people = [{"name": f"群众{i}", "id_number": id_number(200 + i)} for i in range(12)]
    matter, _ = register(client, org, petitioners=people, representatives=[0, 1, 2, 3, 4])
    assert matter["is_group"] and sum(p["representative"] for p in matter["petitioners"]) == 5


def test_coordinator_outside_subtree_cannot_register(client, org):
    headers = login(client, "coord.county2")
    response = client.post("/api/v1/matters", headers=headers, json=matter_body(org))
    assert response.status_code == 403


def test_repeat_is_flagged_not_merged(client, org):
    first, headers = register(client, org, summary="村委会拖欠我三个月工资，请求督促支付")
    check = client.post("/api/v1/matters/repeat-check", headers=headers, json={
        "petitioners": [{"name": "张三", "id_number": id_number(1)}],
        "demands": [{"summary": "村委会拖欠我三个月的工资，要求支付", "category": "wages"}]})
    assert [r["id"] for r in check.json()] == [first["id"]]
    second, _ = register(client, org, headers=headers, summary="村委会拖欠我三个月的工资，要求支付")
    assert second["id"] != first["id"] and second["possible_repeat"]
    assert second["possible_repeats"][0]["id"] == first["id"]
    assert second["petitioners"][0]["id"] == first["petitioners"][0]["id"]  # one petitioner record
    unrelated, _ = register(client, org, headers=headers, summary="邻居违章建房遮挡采光", category="housing")
    assert not unrelated["possible_repeat"]


def test_legal_channel_category_is_marked(client, org):
    matter, _ = register(client, org, summary="不服县法院一审判决", category="court_judgment")
    assert matter["demands"][0]["legal_channel"] == "litigation"


def test_a_changed_secret_key_gives_a_clear_error_not_a_crash(client, org, settings, db):
    from fastapi.testclient import TestClient

    from vreception.app import create_app

    matter, headers = register(client, org)
    rotated = create_app(settings.model_copy(update={"secret_key": "r" * 16 + settings.secret_key[16:]}), db)
    with TestClient(rotated) as other:
        office = login(other, "coord.county")  # the people table does not depend on the key
        answer = other.get(f"/api/v1/matters/{matter['id']}", headers=office)
    assert answer.status_code == 500 and answer.json()["code"] == "key_mismatch"
    assert "VRECEPTION_SECRET_KEY" in answer.json()["detail"]
