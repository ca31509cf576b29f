"""Administering the organisation: move, rename and retire nodes; rooms, their hours and closures; bounded lists."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from scheduling import room_admin
from scheduling.rooms import open_intervals
from tests.factories import NOW, POLICY, add_task, login, matter_row, session_row
from vreception import clock
from vreception.models import AuditEvent, Matter, Node, Room, Task
from vreception.models.scheduling import Participant, ReceptionSession
from vreception.org import admin
from vreception.workdays import load_calendar

MONDAY = NOW.date()  # 2026-03-02, a working day


def _actions(db, action: str) -> list[dict]:
    """The data of the audit events of ACTION, oldest first."""
    with db.transaction() as s:
        query = select(AuditEvent.data).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return [json.loads(data) for data in s.scalars(query)]


def _new_city(client, headers, org, code="580200", name="岚北市") -> dict:
    response = client.post("/api/v1/nodes", headers=headers, json={
        "code": code, "name": name, "level": "city", "parent_id": org.nodes["province"].id})
    assert response.status_code == 201, response.text
    return response.json()


# ---- nodes -----------------------------------------------------------------------------------------------------------

def test_moving_a_county_rewrites_every_copied_path_in_one_go(client, org, db):
    clock.travel_to(NOW)
    with db.transaction() as s:
        county, township = s.get(Node, org.nodes["county"].id), s.get(Node, org.nodes["township"].id)
        matter = matter_row(s, origin=township, handling=county)
        matter.hidden_from_path = township.path
        add_task(s, org, matter, title="核实", due_at=NOW + timedelta(days=5))
        booked = session_row(s, org, starts_at=NOW + timedelta(days=1), room="township")
        matter_id, booked_id = matter.id, booked.id
    headers = login(client, "admin")
    city2 = _new_city(client, headers, org)
    moved = client.patch(f"/api/v1/nodes/{org.nodes['county'].id}", headers=headers,
                         json={"parent_id": city2["id"], "name": "城东新区"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == city2["id"] and moved.json()["name"] == "城东新区"
    with db.transaction() as s:
        new_city_path = s.get(Node, city2["id"]).path
        county = s.get(Node, org.nodes["county"].id)
        assert county.path == f"{new_city_path}{county.id}/"
        for key in ("township", "county_dept"):
            node = s.get(Node, org.nodes[key].id)
            assert node.path == f"{county.path}{node.id}/"
        matter = s.get(Matter, matter_id)
        assert matter.handling_path == county.path
        assert matter.hidden_from_path == s.get(Node, org.nodes["township"].id).path
        assert s.scalar(select(Task.unit_path).where(Task.matter_id == matter_id)) == s.get(
            Node, org.nodes["county_dept"].id).path
        assert s.get(ReceptionSession, booked_id).node_path == county.path
        room_seat = s.scalar(select(Participant.node_path).where(Participant.session_id == booked_id,
                                                                 Participant.room_id.is_not(None)))
        assert room_seat.startswith(county.path)
        # Nothing under the old city keeps the county's old prefix.
        old = f"{org.nodes['city'].path}{county.id}/"
        assert s.scalar(select(func.count()).select_from(Node).where(Node.path.startswith(old))) == 0
    moves = _actions(db, "node.moved")
    assert len(moves) == 1 and moves[0]["rows"]["matters.handling_path"] == 1
    assert _actions(db, "node.renamed")[0] == {"from": "城东区", "to": "城东新区"}


def test_a_move_must_fit_the_levels_and_stay_out_of_its_own_subtree(client, org, db):
    headers = login(client, "admin")
    county, township = org.nodes["county"].id, org.nodes["township"].id

    def patch(node_id, body, who=headers):
        return client.patch(f"/api/v1/nodes/{node_id}", headers=who, json=body)

    under_own = patch(county, {"parent_id": township})
    assert under_own.status_code == 422 and under_own.json()["field"] == "parent_id"
    assert "下级" in under_own.json()["detail"]
    assert patch(county, {"parent_id": org.nodes["province"].id}).status_code == 422  # a county under a province
    assert patch(township, {"parent_id": org.nodes["city"].id}).status_code == 422
    assert patch(org.nodes["province"].id, {"parent_id": county}).status_code == 422
    assert patch(999999, {"name": "无"}).status_code == 404
    assert patch(county, {"parent_id": 999999}).status_code == 404
    assert patch(county, {"name": "  "}).status_code == 422
    assert patch(county, {"colour": "red"}).status_code == 422
    # Moving a township to the other county of the city fits.
    assert patch(township, {"parent_id": org.nodes["county2"].id}).status_code == 200
    # Nodes are the administrator's: a coordinator over the whole province may not touch them.
    coordinator = login(client, "coord.province")
    assert patch(county, {"name": "改名"}, coordinator).status_code == 403
    assert client.post(f"/api/v1/nodes/{county}/retire", headers=coordinator).status_code == 403
    assert _actions(db, "node.renamed") == []


def test_retiring_is_refused_while_anything_is_active_below(client, org, db):
    clock.travel_to(NOW)
    headers = login(client, "admin")
    township = org.nodes["township"].id
    refused = client.post(f"/api/v1/nodes/{township}/retire", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "node_in_use"
    assert "不能撤销" in refused.json()["detail"]
    with db.transaction() as s:
        county = s.get(Node, org.nodes["county"].id)
        matter_row(s, origin=county, handling=county)
        session_row(s, org, starts_at=NOW + timedelta(days=2))
        found = admin.blockers(db=s, node=county)
    assert found == ["admin_org.blocker.people", "admin_org.blocker.rooms", "admin_org.blocker.matters",
                     "admin_org.blocker.sessions"]
    with db.transaction() as s:
        assert admin.blockers(db=s, node=s.get(Node, org.nodes["township2"].id)) == [
            "admin_org.blocker.rooms"]
    assert _actions(db, "node.retired") == []


def test_a_retired_node_leaves_the_lists_and_takes_nothing_new(client, org, db):
    headers = login(client, "admin")
    county = org.nodes["county"].id
    made = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102009", "name": "柳河镇", "level": "township", "parent_id": county}).json()
    below = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102009-S", "name": "柳河镇司法所", "level": "township", "kind": "department",
        "parent_id": made["id"]}).json()
    retired = client.post(f"/api/v1/nodes/{made['id']}/retire", headers=headers)
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"]
    listed = client.get(f"/api/v1/nodes?parent_id={county}", headers=headers).json()
    assert made["id"] not in {n["id"] for n in listed}
    everything = client.get("/api/v1/nodes?include_retired=true&limit=1000", headers=headers).json()
    assert {made["id"], below["id"]} <= {n["id"] for n in everything}
    with db.transaction() as s:
        assert s.get(Node, below["id"]).retired_at is not None  # the subtree goes with it
    again = client.post(f"/api/v1/nodes/{made['id']}/retire", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "node_retired"
    child = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102009-X", "name": "新所", "level": "township", "kind": "department", "parent_id": made["id"]})
    assert child.status_code == 409 and child.json()["code"] == "node_retired"
    room = client.post("/api/v1/rooms", headers=headers, json={"node_id": made["id"], "name": "接访室"})
    assert room.status_code == 409 and room.json()["code"] == "node_retired"
    assert client.patch(f"/api/v1/nodes/{org.nodes['township'].id}", headers=headers,
                        json={"parent_id": made["id"]}).status_code == 409
    assert len(_actions(db, "node.retired")) == 1


# ---- rooms -----------------------------------------------------------------------------------------------------------

def test_a_room_in_use_is_not_deactivated_until_its_sessions_are_gone(client, org, db):
    clock.travel_to(NOW)
    with db.transaction() as s:
        booked_id = session_row(s, org, starts_at=NOW + timedelta(days=1), room="township").id
    headers = login(client, "admin")
    room = org.rooms["township"].id
    renamed = client.patch(f"/api/v1/rooms/{room}", headers=headers, json={"name": "桃源镇一号室"})
    assert renamed.status_code == 200 and renamed.json() == {
        "id": room, "node_id": org.nodes["township"].id, "name": "桃源镇一号室", "active": True}
    refused = client.patch(f"/api/v1/rooms/{room}", headers=headers, json={"active": False})
    assert refused.status_code == 409 and refused.json()["code"] == "room_in_use"
    assert "尚未进行" in refused.json()["detail"]
    with db.transaction() as s:
        from vreception.models.scheduling import SessionState

        s.get(ReceptionSession, booked_id).state = SessionState.cancelled
    off = client.patch(f"/api/v1/rooms/{room}", headers=headers, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert room not in {r["id"] for r in client.get("/api/v1/rooms", headers=headers).json()}
    assert client.patch(f"/api/v1/rooms/{room}", headers=headers, json={"active": True}).json()["active"] is True
    assert _actions(db, "room.deactivated") == [{"name": "桃源镇一号室"}]
    assert client.patch(f"/api/v1/rooms/{room}", headers=login(client, "coord.county"),
                        json={"name": "改"}).status_code == 403
    assert client.patch("/api/v1/rooms/999999", headers=headers, json={"name": "改"}).status_code == 404


def test_coordinators_keep_hours_and_closures_and_availability_honours_them(client, org, db):
    clock.travel_to(NOW)
    room = org.rooms["township"].id
    coordinator = login(client, "coord.county")
    hours = client.put(f"/api/v1/rooms/{room}/hours", headers=coordinator,
                       json=[{"weekday": 0, "opens": "09:00", "closes": "12:00"},
                             {"weekday": 1, "opens": "14:00", "closes": "17:00"}])
    assert hours.status_code == 200, hours.text
    closed = client.post(f"/api/v1/rooms/{room}/closed-days", headers=coordinator,
                         json={"first": "2026-03-09", "last": "2026-03-09", "reason": "线路检修"})
    assert closed.status_code == 201, closed.text
    closure = closed.json()
    assert closure["reason"] == "线路检修"
    assert datetime.fromisoformat(closure["starts_at"]) == datetime(2026, 3, 9, tzinfo=POLICY.zone)
    detail = client.get(f"/api/v1/rooms/{room}", headers=coordinator).json()
    assert [(h["weekday"], h["opens"]) for h in detail["hours"]] == [(0, "09:00:00"), (1, "14:00:00")]
    assert [c["id"] for c in detail["closures"]] == [closure["id"]]

    def open_on(day: date):
        with db.transaction() as s:
            spans = open_intervals(db=s, room_ids=[room], calendar=load_calendar(db=s), policy=POLICY, first=day, last=day)
        return [(a.astimezone(POLICY.zone).time(), b.astimezone(POLICY.zone).time()) for a, b in spans[room]]

    assert open_on(MONDAY) == [(time(9), time(12))]
    assert open_on(date(2026, 3, 3)) == [(time(14), time(17))]
    assert open_on(date(2026, 3, 4)) == []  # Wednesday: no hours declared
    assert open_on(date(2026, 3, 9)) == []  # the closed Monday
    other = login(client, "coord.county2")
    assert client.delete(f"/api/v1/rooms/{room}/closures/{closure['id']}", headers=other).status_code == 403
    assert client.delete(f"/api/v1/rooms/{room}/closures/{closure['id']}", headers=coordinator).status_code == 204
    assert open_on(date(2026, 3, 9)) == [(time(9), time(12))]
    assert client.delete(f"/api/v1/rooms/{room}/closures/{closure['id']}", headers=coordinator).status_code == 404
    assert [e["reason"] for e in _actions(db, "room.reopened")] == ["线路检修"]
    no_reason = client.post(f"/api/v1/rooms/{room}/closed-days", headers=coordinator,
                            json={"first": "2026-03-09", "last": "2026-03-08", "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["detail"] == "请填写关闭原因。"


def test_overlapping_hours_of_a_day_are_refused(db, org):
    with db.transaction() as s:
        room = s.get(Room, org.rooms["county"].id)
        try:
            room_admin.set_weekly_hours(db=s, room=room, hours=[(None, time(8), time(12)), (2, time(11), time(13))])
        except Exception as error:  # noqa: BLE001 - the type is the point
            assert getattr(error, "code", "") == "invalid" and error.field == "hours"
        else:
            raise AssertionError("overlap accepted")


# ---- bounded directory lists -----------------------------------------------------------------------------------------

def _walk(client, headers, url: str) -> tuple[list[int], list[str]]:
    ids, totals = [], []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()]
        totals.append(response.headers["X-Total-Count"])
        link = response.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
        assert not link or link.endswith('rel="next"')
    return ids, totals


def test_directory_lists_are_bounded_with_a_keyset_and_a_next_link(client, org):
    headers = login(client, "coord.county")
    for path, expected in (("/api/v1/nodes", len(org.nodes)), ("/api/v1/rooms", len(org.rooms)),
                           ("/api/v1/people", len(org.people))):
        ids, totals = _walk(client, headers, f"{path}?limit=2")
        assert ids == sorted(ids) and len(ids) == len(set(ids)) == expected, path
        assert set(totals) == {str(expected)} and len(totals) == (expected + 1) // 2
        whole = client.get(path, headers=headers)
        assert "Link" not in whole.headers and len(whole.json()) == expected
        for bad in ("limit=0", "limit=1001", "after=-1", "limit=x"):
            assert client.get(f"{path}?{bad}", headers=headers).status_code == 422, (path, bad)
    townships, _ = _walk(client, headers, "/api/v1/nodes?level=township&limit=1")
    assert townships == sorted([org.nodes["township"].id, org.nodes["township2"].id])
