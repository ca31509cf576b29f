"""The organisation endpoints, and bad input: clear 4xx codes and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, login
from vreception.models import AuditEvent, Node, Person, Room


def _counts(db):
    with db.transaction() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Node, Room, Person, AuditEvent))


def test_list_nodes_by_level_and_parent(client, org):
    headers = login(client, "coord.county")
    townships = client.get("/api/v1/nodes?level=township", headers=headers).json()
    assert [n["code"] for n in townships] == ["580102001", "580103001"]
    assert set(townships[0]) == {"id", "code", "name", "level", "parent_id", "kind"}
    children = client.get(f"/api/v1/nodes?parent_id={org.nodes['county'].id}", headers=headers).json()
    assert {n["code"] for n in children} == {"580102001", "580102-RSJ"}
    assert {n["kind"] for n in children} == {"region", "department"}
    assert client.get("/api/v1/nodes?level=village", headers=headers).status_code == 422


def test_rooms_and_people(client, org):
    headers = login(client, "coord.county")
    rooms = client.get(f"/api/v1/rooms?node_id={org.nodes['township'].id}", headers=headers).json()
    assert rooms == [{"id": org.rooms["township"].id, "node_id": org.nodes["township"].id, "name": "桃源镇视频接访室"}]
    leaders = client.get("/api/v1/people?role=leader", headers=headers).json()
    assert {p["title"] for p in leaders} == {"副县长", "副市长"}
    assert all(p["roles"] == ["leader"] for p in leaders)
    only_county = client.get(f"/api/v1/people?role=leader&node_id={org.nodes['county'].id}", headers=headers).json()
    assert [p["title"] for p in only_county] == ["副县长"]


def test_admin_creates_region_department_room_and_person(client, org):
    headers = login(client, "admin")
    county = org.nodes["county"].id
    township = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102002", "name": "柳河镇", "level": "township", "parent_id": county})
    assert township.status_code == 201
    dept = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102-NYJ", "name": "城东区农业农村局", "level": "county", "kind": "department", "parent_id": county})
    assert dept.status_code == 201 and dept.json()["kind"] == "department"
    room = client.post("/api/v1/rooms", headers=headers, json={"node_id": township.json()["id"], "name": "柳河镇视频接访室"})
    assert room.status_code == 201
    person = client.post("/api/v1/people", headers=headers, json={
        "name": "柳河镇终端", "node_id": township.json()["id"], "username": "room.liuhe", "password": "Kiosk@2026",
        "roles": [{"role": "room", "room_id": room.json()["id"]}]})
    assert person.status_code == 201, person.text
    assert person.json()["roles"] == ["room"]
    assert login(client, "room.liuhe", "Kiosk@2026")


@pytest.mark.parametrize("payload, status, code, field", [
    ({"code": "580104", "name": "乱镇", "level": "township", "parent_key": "province"}, 422, "invalid", "level"),
    ({"code": "580104", "name": "新区", "level": "county", "parent_id": 999999}, 404, "not_found", "parent_id"),
    ({"code": "580102", "name": "重复区", "level": "county", "parent_key": "city"}, 409, "conflict", "code"),
    ({"code": "580104", "name": "   ", "level": "county", "parent_key": "city"}, 422, "invalid", "name"),
    ({"code": "bad code!", "name": "新区", "level": "county", "parent_key": "city"}, 422, "invalid", "code"),
    ({"code": "580104", "name": "新区", "level": "village", "parent_key": "city"}, 422, "invalid", "level"),
    ({"code": "580104-X", "name": "部门下的部门", "level": "county", "kind": "department",
      "parent_key": "county_dept"}, 422, "invalid", "parent_id"),
    ({"code": "580104-Y", "name": "错级部门", "level": "city", "kind": "department", "parent_key": "county"},
     422, "invalid", "level"),
])
def test_bad_nodes_are_refused_and_nothing_is_written(client, org, db, payload, status, code, field):
    headers = login(client, "admin")
    before = _counts(db)
    payload = dict(payload)
    if "parent_key" in payload:
        payload["parent_id"] = org.nodes[payload.pop("parent_key")].id
    response = client.post("/api/v1/nodes", headers=headers, json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body.get("field") == field and body["detail"]
    assert _counts(db) == before


def test_level_mismatch_message_names_levels_in_chinese(client, org):
    headers = login(client, "admin")
    response = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580199", "name": "乱镇", "level": "township", "parent_id": org.nodes["province"].id})
    assert response.json()["detail"] == "层级不符：省级节点下不能设立乡级节点。"


def test_failed_person_with_bad_role_writes_nothing(client, org, db):
    headers = login(client, "admin")
    before = _counts(db)
    response = client.post("/api/v1/people", headers=headers, json={
        "name": "某人", "node_id": org.nodes["county"].id, "username": "some.one", "password": PASSWORD,
        "roles": [{"role": "leader"}, {"role": "emperor"}]})
    assert response.status_code == 422 and response.json()["field"] == "role"
    assert _counts(db)[:3] == before[:3]


def test_duplicate_username_is_409(client, org):
    headers = login(client, "admin")
    response = client.post("/api/v1/people", headers=headers, json={
        "name": "某人", "node_id": org.nodes["county"].id, "username": "handler", "password": PASSWORD})
    assert response.status_code == 409 and response.json()["code"] == "conflict"


def test_every_change_is_audited(client, org, db):
    headers = login(client, "admin")
    client.post("/api/v1/rooms", headers=headers, json={"node_id": org.nodes["county"].id, "name": "第二接访室"})
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-2:] == ["auth.login", "room.created"]
    assert actions.count("node.created") == 7 and actions.count("person.created") == 9


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/nodes", "/api/v1/rooms", "/api/v1/people", "/healthz"):
        assert path in paths
