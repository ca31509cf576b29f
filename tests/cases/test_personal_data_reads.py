"""Reads of personal data are on the record: decrypted ID numbers shown, notices read, searches by ID number."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.factories import act, login, register
from vreception.models import AuditEvent


def _events(db, action):
    with db.transaction() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_who_saw_decrypted_ids_who_read_a_notice_and_who_searched_by_id_is_audited(client, org, db):
    matter, office = register(client, org)
    act(client, office, matter["id"], "accept")  # issues the acceptance notice
    petitioner = matter["petitioners"][0]
    reads_before = len(_events(db, "matter.identity_read"))
    shown = client.get(f"/api/v1/matters/{matter['id']}", headers=office).json()
    assert shown["petitioners"][0]["id_number"] == petitioner["id_number"]  # in full, for the office
    reads = _events(db, "matter.identity_read")
    assert len(reads) == reads_before + 1 and reads[-1].actor_id == org.people["coord_county"].id
    # A leader sees masked numbers: nothing decrypted, nothing to record.
    leader = login(client, "leader.county")
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=leader).json()["petitioners"][0]["id_number"] \
        .startswith("*")
    assert len(_events(db, "matter.identity_read")) == reads_before + 1
    document = shown["documents"][0]
    assert client.get(f"/api/v1/documents/{document['id']}.html", headers=leader).status_code == 200
    assert _events(db, "document.read")[-1].actor_id == org.people["leader_county"].id
    searched = client.post("/api/v1/matters/repeat-check", headers=office, json={
        "petitioners": [{"name": "张三", "id_number": petitioner["id_number"], "phone": None}],
        "demands": [{"summary": "拖欠工资", "category": "wages"}]})
    assert searched.status_code == 200
    search = _events(db, "matter.identity_search")[-1]
    assert search.actor_id == org.people["coord_county"].id
    assert json.loads(search.data) == {"id_numbers": 1, "found": 1}
    assert petitioner["id_number"] not in search.data  # the log names the search, never the number
