"""Hardening: the call page follows the matter's access rule, tasks stay in the office's subtree, seats are personal."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import COUNTY2_DEPT, SH, add_node, add_person, build_scene, login, page_client, token
from vreception import clock
from vreception.models import AuditEvent, Task
from vreception.models.scheduling import Participant

CALL_OPEN = datetime(2026, 3, 4, 8, 30, tzinfo=SH)  # the scene's Wednesday session opens 30 minutes before

@pytest.fixture
def scene(app, org, settings, db):
    """The scene of the page tests, plus a township coordinator and a department (with a handler) in county 2."""
    with db.transaction() as session:
        add_person(session, org, "coord_township", "coordinator", "township", name="乡镇信访员")
        add_node(session, org, *COUNTY2_DEPT)
        add_person(session, org, "handler_county2", "handler", "county2_dept", name="城西办理员")
    return build_scene(db, org, settings)


def _form(client, **fields) -> dict:
    return {"csrf_token": token(client), **fields}


def test_a_coordinator_who_only_covers_the_room_runs_the_lobby_but_never_opens_the_case_file(app, scene, db):
    clock.travel_to(CALL_OPEN)
    township = page_client(app, "coord.township")
    page = township.get(f"/calls/{scene.session}")
    assert page.status_code == 200  # the lobby of a session in its room is theirs to run
    assert "村里拖欠三个月工资" not in page.text and scene.number not in page.text
    record = township.post(f"/calls/{scene.session}/record", data=_form(township, notes="记录"))
    assert record.status_code == 403
    task = township.post(f"/calls/{scene.session}/tasks",
                         data=_form(township, unit_node_id="1", title="t", due_on="2026-03-20"))
    assert task.status_code == 403
    with db.transaction() as session:
        assert session.scalars(select(Task).where(Task.title == "t")).first() is None


def test_the_office_reads_the_case_file_and_assigns_only_to_units_it_covers(app, client, scene, org, db):
    clock.travel_to(CALL_OPEN)
    county = page_client(app, "coord.county")
    page = county.get(f"/calls/{scene.session}")
    assert page.status_code == 200 and "村里拖欠三个月工资" in page.text
    outside = county.post(f"/calls/{scene.session}/tasks",
                          data=_form(county, unit_node_id=str(org.nodes["county2_dept"].id), title="越界交办",
                                     due_on="2026-03-20"))
    assert outside.status_code == 403
    inside = county.post(f"/calls/{scene.session}/tasks",
                         data=_form(county, unit_node_id=str(org.nodes["county_dept"].id), title="核实",
                                    due_on="2026-03-20"))
    assert inside.status_code == 201
    # A task from a call falls due at the end of the chosen day, as one from the matter page does.
    due = datetime.fromisoformat(inside.json()["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (due.date(), due.hour, due.minute) == (date(2026, 3, 20), 23, 59)
    # The other county's unit got nothing, so its handler still cannot read the matter.
    assert client.get(f"/api/v1/matters/{scene.matter}", headers=login(client, "handler.county2")).status_code == 403


def test_an_office_makes_only_its_own_leaders_owners(client, scene, org):
    county = login(client, "coord.county")
    foreign = client.post(f"/api/v1/matters/{scene.matter}/actions", headers=county,
                          json={"action": "set_owner", "leader_id": org.people["leader_city"].id})
    assert foreign.status_code == 403
    own = client.post(f"/api/v1/matters/{scene.matter}/actions", headers=county,
                      json={"action": "set_owner", "leader_id": org.people["leader_county"].id})
    assert own.status_code == 200 and own.json()["owner_leader_id"] == org.people["leader_county"].id


def _seats(client, headers, session_id) -> dict[str, int]:
    body = client.get(f"/api/v1/sessions/{session_id}", headers=headers).json()
    return {p["role"]: p["id"] for p in body["participants"]}


@pytest.mark.parametrize("username", ["coord.county", "coord.province", "coord.township"])
def test_no_coordinator_takes_the_leaders_seat(client, scene, username):
    headers = login(client, username)
    leader_seat = _seats(client, login(client, "coord.county"), scene.session)["leader"]
    taken = client.post(f"/api/v1/sessions/{scene.session}/join", headers=headers, json={"participant_id": leader_seat})
    assert taken.status_code == 403
    room_seat = _seats(client, login(client, "coord.county"), scene.session)["room"]
    assert client.post(f"/api/v1/sessions/{scene.session}/join", headers=headers,
                       json={"participant_id": room_seat}).status_code == 403


def test_a_coordinator_joins_in_their_own_seat_and_the_audit_names_them(client, scene, org, db):
    clock.travel_to(CALL_OPEN)
    headers = login(client, "coord.county")
    joined = client.post(f"/api/v1/sessions/{scene.session}/join", headers=headers, json={})
    assert joined.status_code == 200
    again = client.post(f"/api/v1/sessions/{scene.session}/join", headers=headers, json={})
    assert again.status_code == 200
    coordinator = org.people["coord_county"].id
    with db.transaction() as session:
        seats = session.scalars(select(Participant).where(Participant.session_id == scene.session,
                                                          Participant.person_id == coordinator)).all()
        assert [s.role for s in seats] == ["coordinator"]  # one personal seat, made once
        tokens = session.scalars(select(AuditEvent).where(AuditEvent.action == "session.join_token")).all()
        assert {e.actor_id for e in tokens} == {coordinator}
        assert {json.loads(e.data)["participant_id"] for e in tokens} == {seats[0].id}
    leader = login(client, "leader.county")
    own = client.post(f"/api/v1/sessions/{scene.session}/join", headers=leader,
                      json={"participant_id": _seats(client, headers, scene.session)["leader"]})
    assert own.status_code == 200


def test_a_level_override_needs_a_coordinator_over_the_leader(client, scene, org):
    body = {"kind": "reception", "leader_id": org.people["leader_city"].id, "room_ids": [org.rooms["township"].id],
            "matter_id": scene.matter, "ad_hoc": True, "reason": "现场来访", "override_reason": "领导要求"}
    township = client.post("/api/v1/sessions", headers=login(client, "coord.township"), json=body)
    assert township.status_code == 403
    county = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=body)
    assert county.status_code == 403  # the city leader sits above the county office
    province = client.post("/api/v1/sessions", headers=login(client, "coord.province"), json=body)
    # Past the access check, the booking rules speak: this matter was accepted days ago.
    assert province.status_code == 422 and province.json()["code"] == "matter_not_bookable", province.text


def test_a_booking_claims_no_room_outside_the_bookers_subtree(client, scene, org):
    body = {"kind": "reception", "leader_id": org.people["leader_county"].id,
            "room_ids": [org.rooms["township"].id, org.rooms["township2"].id], "ad_hoc": True, "reason": "现场来访"}
    refused = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=body)
    assert refused.status_code == 403
