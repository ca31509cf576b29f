"""Join tokens for participants only, and ICS feeds behind a signed feed URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
from icalendar import Calendar

from tests.factories import login
from tests.scheduling.conftest import at, reception
from vreception import clock


def _booked(client, world, **extra):
    response = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def _participant(session, role, **match):
    return next(p for p in session["participants"] if p["role"] == role and all(p[k] == v for k, v in match.items()))


def test_join_tokens_go_to_the_seats_own_person_or_room_and_coordinators_get_their_own(client, world, app):
    org = world.org
    booked = _booked(client, world, participants=[{"role": "hearing_member", "person_id": org.people["handler"].id}])
    leader_p = _participant(booked, "leader")
    room_p = _participant(booked, "room", room_id=org.rooms["township"].id)
    member_p = _participant(booked, "hearing_member")
    url = f"/api/v1/sessions/{booked['id']}/join"
    clock.travel_to(at("2026-03-04", "08:30"))  # the call opens 30 minutes before the session

    response = client.post(url, headers=login(client, "leader.county"), json={"participant_id": leader_p["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    claims = jwt.decode(body["token"], app.state.secret, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["purpose"] == "join" and claims["session_id"] == booked["id"]
    assert claims["participant_id"] == leader_p["id"] and claims["role"] == "leader"
    assert body["ws_url"].endswith(f"/ws/sessions/{booked['id']}?token={body['token']}")
    assert body["ws_url"].startswith("ws://")
    assert claims["exp"] - claims["iat"] == 15 * 60

    kiosk = login(client, "room.township")
    assert client.post(url, headers=kiosk, json={"participant_id": room_p["id"]}).status_code == 200
    assert client.post(url, headers=kiosk, json={"participant_id": leader_p["id"]}).status_code == 403
    assert client.post(url, headers=login(client, "handler"), json={"participant_id": member_p["id"]}).status_code == 200
    assert client.post(url, headers=login(client, "handler"), json={"participant_id": room_p["id"]}).status_code == 403
    # Seats are personal: a coordinator over the session takes no one else's seat but gets one of their own.
    assert client.post(url, headers=login(client, "coord.county"), json={"participant_id": room_p["id"]}).status_code == 403
    own = client.post(url, headers=login(client, "coord.county"), json={})
    assert own.status_code == 200
    own_claims = jwt.decode(own.json()["token"], app.state.secret, algorithms=["HS256"], options={"verify_exp": False})
    assert own_claims["role"] == "coordinator" and own_claims["participant_id"] not in (room_p["id"], leader_p["id"])
    assert client.post(url, headers=login(client, "coord.county2"), json={"participant_id": room_p["id"]}).status_code == 403
    assert client.post(url, headers=login(client, "coord.county2"), json={}).status_code == 403
    assert client.post(url, headers=login(client, "coord.county"), json={"participant_id": 999999}).status_code == 404

    client.post(f"/api/v1/sessions/{booked['id']}/cancel", headers=login(client, "coord.county"))
    closed = client.post(url, headers=login(client, "leader.county"), json={"participant_id": leader_p["id"]})
    assert closed.status_code == 409 and closed.json()["code"] == "not_joinable"


def _feed(client, headers, path):
    response = client.get(f"/api/v1/calendars/{path}/feed", headers=headers)
    assert response.status_code == 200, response.text
    parts = urlsplit(response.json()["url"])
    return parts.path, parse_qs(parts.query)["token"][0]


def test_leader_and_room_feeds_parse_as_icalendar_with_a_signed_url(client, world):
    org = world.org
    kept = _booked(client, world)
    dropped = _booked(client, world, start="10:00", end="10:30")
    client.post(f"/api/v1/sessions/{dropped['id']}/cancel", headers=login(client, "coord.county"))

    leader_id = org.people["leader_county"].id
    path, token = _feed(client, login(client, "leader.county"), f"leaders/{leader_id}")
    assert path == f"/api/v1/calendars/leaders/{leader_id}.ics"
    response = client.get(path, params={"token": token})  # no bearer header: a calendar client
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    mine = events[f"session-{kept['id']}@vreception"]
    assert mine.decoded("dtstart") == at("2026-03-04", "09:00") and str(mine["status"]) == "CONFIRMED"
    assert str(mine["summary"]) == "视频接访" and "桃源镇视频接访室" in str(mine["location"])
    assert "张三" not in response.text  # no petitioner names on phones
    assert str(events[f"session-{dropped['id']}@vreception"]["status"]) == "CANCELLED"
    reception_days = [e for e in events.values() if str(e["uid"]).startswith("plan-")]
    assert reception_days and all(str(e["transp"]) == "TRANSPARENT" for e in reception_days)

    room_id = org.rooms["township"].id
    room_path, room_token = _feed(client, login(client, "room.township"), f"rooms/{room_id}")
    room_calendar = Calendar.from_ical(client.get(room_path, params={"token": room_token}).content)
    assert {str(e["uid"]) for e in room_calendar.walk("VEVENT")} == {
        f"session-{kept['id']}@vreception", f"session-{dropped['id']}@vreception"}

    # A token opens only its own feed; no token and no bearer is 401; a bearer of the wrong person is 403.
    other_room = f"/api/v1/calendars/rooms/{org.rooms['county'].id}.ics"
    assert client.get(other_room, params={"token": room_token}).status_code == 403
    assert client.get(path, params={"token": token + "x"}).status_code == 401
    assert client.get(path).status_code == 401
    assert client.get(path, headers=login(client, "coord.county2")).status_code == 403
    assert client.get(path, headers=login(client, "coord.county")).status_code == 200
    assert client.get(f"/api/v1/calendars/leaders/{leader_id}/feed", headers=login(client, "leader.city")).status_code == 403
    # Feed tokens expire (a year by default).
    clock.travel_to(at("2027-03-05", "09:00"))
    assert client.get(path, params={"token": token}).status_code == 401
