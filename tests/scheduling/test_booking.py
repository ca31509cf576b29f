"""Booking over the API: claims in the database, buffers, cancel and reschedule with history, access."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import login
from tests.scheduling.conftest import iso, reception
from vreception.models import AuditEvent
from vreception.models.scheduling import Claim, ReceptionSession, SessionEvent


def _count(db, model, *where):
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_booking_claims_leader_and_rooms_and_is_audited(client, world, db):
    org = world.org
    response = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "booked" and body["kind"] == "reception"
    assert body["start"] == "2026-03-04T09:00:00+08:00" and body["end"] == "2026-03-04T09:30:00+08:00"
    roles = [(p["role"], p["person_id"], p.get("room_id")) for p in body["participants"]]
    # The leader and every room are participants without being listed; the plan's room is added.
    assert ("leader", org.people["leader_county"].id, None) in roles
    assert ("room", None, org.rooms["township"].id) in roles and ("room", None, org.rooms["county"].id) in roles
    assert {"id", "role", "person_id", "name"} <= set(body["participants"][0])
    with db.transaction() as session:
        resources = set(session.scalars(select(Claim.resource).distinct()))
    assert resources == {f"leader:{org.people['leader_county'].id}", f"room:{org.rooms['township'].id}",
                         f"room:{org.rooms['county'].id}"}
    # 30 minutes + the plan's 10-minute buffer for the leader, 30 minutes for each room, in 5-minute quanta.
    assert _count(db, Claim) == 8 + 6 + 6
    assert _count(db, AuditEvent, AuditEvent.action == "session.booked") == 1
    assert [e["action"] for e in body["history"]] == ["booked"]


def test_the_same_leader_twice_is_a_conflict_and_writes_nothing(client, world, db):
    headers = login(client, "coord.county")
    assert client.post("/api/v1/sessions", headers=headers, json=reception(world)).status_code == 201
    province = login(client, "coord.province")
    before = _count(db, ReceptionSession), _count(db, Claim), _count(db, AuditEvent)
    other_room = reception(world, start="09:15", end="09:45", room_ids=[world.org.rooms["township2"].id])
    response = client.post("/api/v1/sessions", headers=province, json=other_room)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert "已被占用" in response.json()["detail"]
    english = client.post("/api/v1/sessions", headers={**headers, "Accept-Language": "en"}, json=reception(world))
    assert english.status_code == 409 and "already taken" in english.json()["detail"]
    assert (_count(db, ReceptionSession), _count(db, Claim), _count(db, AuditEvent)) == before


def test_a_room_or_a_hearing_member_busy_elsewhere_is_a_conflict(client, world, db):
    org = world.org
    headers = login(client, "coord.province")
    # A consultation (会商) names people as a hearing would (a hearing is booked from its hearing: tests/hearings).
    first = reception(world, kind="consultation",
                      participants=[{"role": "hearing_member", "person_id": org.people["handler"].id}])
    assert client.post("/api/v1/sessions", headers=headers, json=first).status_code == 201
    # The city leader is free, but the township room and the hearing member are not.
    same_room = {**reception(world), "leader_id": org.people["leader_city"].id, "override_reason": "市领导包案"}
    assert client.post("/api/v1/sessions", headers=headers, json=same_room).status_code == 409
    same_member = {**same_room, "kind": "consultation", "room_ids": [org.rooms["township2"].id],
                   "participants": [{"role": "hearing_member", "person_id": org.people["handler"].id}]}
    assert client.post("/api/v1/sessions", headers=headers, json=same_member).status_code == 409
    free = {**same_member, "participants": []}
    assert client.post("/api/v1/sessions", headers=headers, json=free).status_code == 201


def test_buffer_after_a_session_is_held_for_the_leader(client, world):
    headers = login(client, "coord.county")
    assert client.post("/api/v1/sessions", headers=headers, json=reception(world)).status_code == 201
    inside_buffer = reception(world, start="09:35", end="10:05", room_ids=[world.org.rooms["township2"].id])
    assert client.post("/api/v1/sessions", headers=login(client, "coord.province"), json=inside_buffer).status_code == 409
    after_buffer = reception(world, start="09:40", end="10:10")
    assert client.post("/api/v1/sessions", headers=headers, json=after_buffer).status_code == 201


def test_cancel_frees_the_claims_and_keeps_history(client, world, db):
    headers = login(client, "coord.county")
    booked = client.post("/api/v1/sessions", headers=headers, json=reception(world)).json()
    cancelled = client.post(f"/api/v1/sessions/{booked['id']}/cancel", headers=headers, json={"reason": "信访人改期"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert [e["action"] for e in cancelled.json()["history"]] == ["booked", "cancelled"]
    assert _count(db, Claim, Claim.session_id == booked["id"]) == 0
    again = client.post("/api/v1/sessions", headers=headers, json=reception(world))
    assert again.status_code == 201
    second = client.post(f"/api/v1/sessions/{booked['id']}/cancel", headers=headers)
    assert second.status_code == 409 and second.json()["code"] == "illegal_transition"
    assert "已取消" in second.json()["detail"]
    assert _count(db, AuditEvent, AuditEvent.action == "session.cancelled") == 1


def test_reschedule_moves_claims_and_refuses_a_taken_time(client, world, db):
    headers = login(client, "coord.county")
    first = client.post("/api/v1/sessions", headers=headers, json=reception(world)).json()
    second = client.post("/api/v1/sessions", headers=headers, json=reception(world, start="10:00", end="10:30")).json()
    taken = client.post(f"/api/v1/sessions/{second['id']}/reschedule", headers=headers,
                        json={"start": iso("2026-03-04", "09:00"), "end": iso("2026-03-04", "09:30")})
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    moved = client.post(f"/api/v1/sessions/{first['id']}/reschedule", headers=headers,
                        json={"start": iso("2026-03-05", "11:00"), "end": iso("2026-03-05", "11:30"), "reason": "领导调整"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == "2026-03-05T11:00:00+08:00" and moved.json()["version"] == 1
    assert [(e["action"], e["start"]) for e in moved.json()["history"]] == [
        ("booked", "2026-03-04T09:00:00+08:00"), ("rescheduled", "2026-03-05T11:00:00+08:00")]
    # The old time is free again; the new time is held.
    assert client.post("/api/v1/sessions", headers=headers, json=reception(world)).status_code == 201
    assert client.post("/api/v1/sessions", headers=headers,
                       json=reception(world, day="2026-03-05", start="11:00", end="11:30")).status_code == 409
    outside = client.post(f"/api/v1/sessions/{first['id']}/reschedule", headers=headers,
                          json={"start": iso("2026-03-05", "15:00"), "end": iso("2026-03-05", "15:30")})
    assert outside.status_code == 422 and outside.json()["code"] == "outside_plan"
    assert _count(db, SessionEvent, SessionEvent.session_id == first["id"]) == 2


def test_bad_input_is_refused_and_nothing_is_written(client, world, db):
    headers = login(client, "coord.county")
    cases = [
        ({**reception(world), "start": "2026-03-04T09:00:00", "end": "2026-03-04T09:30:00"}, "invalid", "start"),
        (reception(world, start="09:02", end="09:32"), "invalid", "start"),
        (reception(world, start="09:30", end="09:00"), "invalid", "end"),
        ({**reception(world), "participants": [{"role": "emperor", "name": "某"}]}, "invalid", "participants.0.role"),
        ({**reception(world), "room_ids": []}, "invalid", "room_ids"),
        ({**reception(world), "matter_id": None}, "invalid", "matter_id"),
        ({**reception(world), "kind": "party"}, "invalid", "kind"),
    ]
    for body, code, field in cases:
        response = client.post("/api/v1/sessions", headers=headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code and response.json()["field"] == field, response.text
    assert _count(db, ReceptionSession) == 0 and _count(db, Claim) == 0
    assert client.post("/api/v1/sessions", headers=headers, json={**reception(world), "room_ids": [999999]}).status_code == 404


def test_only_coordinators_over_the_leader_or_a_room_may_book(client, world):
    assert client.post("/api/v1/sessions", json=reception(world)).status_code == 401
    for username in ("leader.county", "handler", "room.township", "coord.county2"):
        response = client.post("/api/v1/sessions", headers=login(client, username), json=reception(world))
        assert response.status_code == 403 and response.json()["code"] == "forbidden", username


def test_get_and_list_sessions_stay_within_the_callers_subtree(client, world):
    org = world.org
    booked = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world)).json()
    other = {**reception(world), "leader_id": org.people["leader_city"].id, "room_ids": [org.rooms["township2"].id],
             "override_reason": "市领导包案", "matter_id": world.matter}
    city = client.post("/api/v1/sessions", headers=login(client, "coord.province"), json=other)
    assert city.status_code == 201, city.text
    for username, expected in (("coord.county", {booked["id"]}),
                               ("coord.county2", {city.json()["id"]}),
                               ("leader.county", {booked["id"]}),
                               ("room.township", {booked["id"]}),
                               ("coord.province", {booked["id"], city.json()["id"]})):
        listed = client.get("/api/v1/sessions", headers=login(client, username))
        assert {s["id"] for s in listed.json()["items"]} == expected, username
        assert listed.json()["total"] == len(expected) and listed.json()["next"] is None
    headers = login(client, "coord.county2")
    assert client.get(f"/api/v1/sessions/{booked['id']}", headers=headers).status_code == 403
    assert client.post(f"/api/v1/sessions/{booked['id']}/cancel", headers=headers).status_code == 403
    assert client.post(f"/api/v1/sessions/{booked['id']}/cancel",
                       headers=login(client, "leader.county")).status_code == 403
    detail = client.get(f"/api/v1/sessions/{booked['id']}", headers=login(client, "room.township"))
    assert detail.status_code == 200 and detail.json()["recordings"] == []
    by_leader = client.get("/api/v1/sessions", headers=login(client, "coord.province"), params={
        "leader_id": org.people["leader_city"].id, "state": "booked",
        "from": iso("2026-03-04", "00:00"), "to": iso("2026-03-05", "00:00")})
    assert [s["id"] for s in by_leader.json()["items"]] == [city.json()["id"]]
    by_room = client.get(f"/api/v1/sessions?room_id={org.rooms['county'].id}", headers=login(client, "coord.province"))
    assert [s["id"] for s in by_room.json()["items"]] == [booked["id"]]
    assert client.get("/api/v1/sessions/999999", headers=login(client, "coord.province")).status_code == 404
