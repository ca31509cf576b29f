"""Free slots = plan ∩ room hours − bookings − buffers − absences, over the API."""

from __future__ import annotations

from tests.factories import login
from tests.scheduling.conftest import iso, reception


def _slots(client, world, day, room_key="township", headers=None, **extra):
    params = {"leader_id": world.org.people["leader_county"].id, "from": iso(day, "00:00"), "to": iso(day, "23:59"),
              **extra}
    if room_key:
        params["room_id"] = world.org.rooms[room_key].id
    response = client.get("/api/v1/availability", params=params, headers=headers or login(client, "coord.county"))
    assert response.status_code == 200, response.text
    return [(s["start"][11:16], s["end"][11:16]) for s in response.json()]


def test_slots_follow_the_plan_with_buffers_and_vanish_when_booked(client, world):
    # 09:00–12:00, 30-minute slots each followed by a 10-minute buffer.
    assert _slots(client, world, "2026-03-04") == [("09:00", "09:30"), ("09:40", "10:10"), ("10:20", "10:50"),
                                                   ("11:00", "11:30")]
    client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world, start="09:40", end="10:10"))
    assert _slots(client, world, "2026-03-04") == [("09:00", "09:30"), ("10:20", "10:50"), ("11:00", "11:30")]
    # A booking off the grid also takes the slots its claims (and its buffer) overlap.
    client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world, start="10:50", end="11:00"))
    assert _slots(client, world, "2026-03-04") == [("09:00", "09:30")]
    response = client.get("/api/v1/availability", headers=login(client, "coord.county"), params={
        "leader_id": world.org.people["leader_county"].id, "from": iso("2026-03-04", "00:00"),
        "to": iso("2026-03-05", "00:00")})
    assert response.json()[0] == {"start": "2026-03-04T09:00:00+08:00", "end": "2026-03-04T09:30:00+08:00",
                                  "leader_id": world.org.people["leader_county"].id, "plan_id": world.county_plan}


def test_room_hours_closures_absences_weekends_and_the_cut_off_remove_slots(client, world):
    org = world.org
    headers = login(client, "coord.county")
    client.put(f"/api/v1/rooms/{org.rooms['township'].id}/hours", headers=headers,
               json=[{"opens": "10:00", "closes": "17:00"}])
    assert _slots(client, world, "2026-03-04") == [("10:20", "10:50"), ("11:00", "11:30")]
    assert len(_slots(client, world, "2026-03-04", room_key="township2")) == 4  # another room is open all morning
    client.post(f"/api/v1/rooms/{org.rooms['township'].id}/closures", headers=headers,
                json={"start": iso("2026-03-04", "11:00"), "end": iso("2026-03-04", "12:00")})
    assert _slots(client, world, "2026-03-04") == [("10:20", "10:50")]
    client.post(f"/api/v1/leaders/{org.people['leader_county'].id}/absences", headers=headers, json={"day": "2026-03-05"})
    assert _slots(client, world, "2026-03-05") == []
    assert _slots(client, world, "2026-03-07") == []  # Saturday
    assert _slots(client, world, "2026-03-02", room_key=None) == []  # today: past the cut-off
    assert len(_slots(client, world, "2026-03-03", room_key=None)) == 4


def test_availability_over_a_month_and_bad_ranges(client, world):
    headers = login(client, "coord.county")
    params = {"leader_id": world.org.people["leader_county"].id, "from": iso("2026-03-01", "00:00"),
              "to": iso("2026-04-01", "00:00")}
    month = client.get("/api/v1/availability", headers=headers, params=params).json()
    assert len(month) == 4 * 21  # 22 working days in March 2026, today (3/2) is past the cut-off
    too_long = client.get("/api/v1/availability", headers=headers, params={**params, "to": iso("2026-06-01", "00:00")})
    assert too_long.status_code == 422 and too_long.json()["field"] == "to"
    backwards = client.get("/api/v1/availability", headers=headers, params={**params, "to": iso("2026-02-01", "00:00")})
    assert backwards.status_code == 422
    assert client.get("/api/v1/availability", headers=login(client, "room.township"), params=params).status_code == 403
    assert client.get("/api/v1/availability", headers=headers,
                      params={**params, "leader_id": world.org.people["handler"].id}).status_code == 422


def test_room_hours_with_an_offset_are_refused(client, world):
    room = world.org.rooms["township"].id
    headers = {**login(client, "coord.county"), "accept-language": "zh-CN"}
    for hours, field in (({"opens": "09:00:00Z", "closes": "17:00"}, "opens"),  # was a 500: aware vs naive compared
                         ({"opens": "09:00", "closes": "17:00:00+08:00"}, "closes")):
        response = client.put(f"/api/v1/rooms/{room}/hours", headers=headers, json=[hours])
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field and "不带时区" in response.json()["detail"]


def test_claims_found_by_bisection_take_the_same_slots_as_a_probe_of_each_quantum(client, world, db, monkeypatch):
    """Claims at scattered quanta of the leader and the room (on and off the slot grid, inside buffers): the slots the
    sorted claims leave free are those a probe of every quantum each slot covers leaves free."""
    import random
    from datetime import timedelta

    from scheduling import availability
    from scheduling.policy import quanta
    from tests.scheduling.conftest import POLICY, at
    from vreception.models.scheduling import Claim

    booked = client.post("/api/v1/sessions", headers=login(client, "coord.county"),
                         json=reception(world, start="09:00", end="09:30", day="2026-03-04"))
    assert booked.status_code == 201, booked.text
    leader, room = world.org.people["leader_county"].id, world.org.rooms["township"].id
    chosen = random.Random(16)
    with db.transaction() as s:
        for key in (f"leader:{leader}", f"room:{room}"):
            for day in ("2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10"):
                for minute in chosen.sample(range(0, 180, 5), 6):
                    s.merge(Claim(resource=key, slot=at(day, "09:00") + timedelta(minutes=minute),
                                  session_id=booked.json()["id"]))

    def read() -> list:
        with db.transaction() as s:
            return availability.free_slots(db=s, policy=POLICY, leader_id=leader, room_id=room,
                                           first=at("2026-03-03", "00:00"), last=at("2026-03-12", "00:00"))

    found = read()
    monkeypatch.setattr(availability, "_held", lambda slots, policy, start, end: any(
        q in set(slots) for q in quanta(policy, start, end)))
    assert found == read()
    assert 0 < len(found) < 4 * 7
