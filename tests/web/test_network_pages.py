"""The video network pages: the kiosk's heartbeat and self-test report, the coordinator's overview and drill-down,
the JSON API beside them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import login, page_client, token
from tests.scheduling.conftest import at
from vreception import clock
from vreception.models import AuditEvent


def _kiosk(app):
    client = page_client(app, "room.township")
    return client, {"X-CSRF-Token": token(client)}


def test_the_kiosk_beats_and_the_county_sees_its_room_online_then_offline(app, org):
    clock.travel_to(at("2026-03-02", "10:00"))
    kiosk, csrf = _kiosk(app)
    assert "/static/js/heartbeat.js" in kiosk.get("/kiosk").text
    assert kiosk.post("/kiosk/heartbeat").status_code == 403  # no CSRF header
    beat = kiosk.post("/kiosk/heartbeat", headers=csrf)
    assert beat.status_code == 200, beat.text
    assert beat.json()["recorded"] == [org.rooms["township"].id]
    assert kiosk.post("/kiosk/heartbeat", headers=csrf).json()["recorded"] == []  # seconds later: not written

    office = page_client(app, "coord.county")
    township = org.rooms["township"].id
    html = office.get("/network").text
    assert "城东区" in html and 'hx-trigger="every 15s"' in html
    assert f'data-room="{township}" data-online="yes"' in html
    assert f'data-room="{org.rooms["county"].id}" data-online="no"' in html
    assert org.rooms["township2"].id not in _rooms_of(html)  # the other county's room
    clock.travel_to(at("2026-03-02", "10:01:31"))
    assert f'data-room="{township}" data-online="no"' in office.get("/network/live").text


def _rooms_of(html: str) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'data-room="(\d+)"', html)}


def test_the_self_test_result_is_kept_shown_and_audited(app, org, db):
    clock.travel_to(at("2026-03-02", "23:30"))
    kiosk, csrf = _kiosk(app)
    assert 'data-report="/self-test/result"' in kiosk.get("/self-test").text
    body = {"camera": False, "microphone": True, "speaker": None, "network": True, "network_ms": 35,
            "detail": "NotFoundError: Requested device not found"}
    assert kiosk.post("/self-test/result", json=body).status_code == 403  # no CSRF header
    sent = kiosk.post("/self-test/result", json=body, headers=csrf)
    assert sent.status_code == 200, sent.text
    assert sent.json()["failed"] == ["camera"]
    assert kiosk.post("/self-test/result", json={**body, "detail": "x" * 301}, headers=csrf).status_code == 422
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "room.self_test")).one()
        assert event.entity_id == str(org.rooms["township"].id)

    province = page_client(app, "coord.province")
    city_row = province.get("/network").text
    assert 'data-failed="1"' in city_row  # the city's row counts the township's failure today
    county = province.get(f"/network?node_id={org.nodes['county'].id}").text
    assert 'data-self-test="failed"' in county and "摄像头" in county
    clock.travel_to(at("2026-03-03", "00:30"))  # the next day in Shanghai: no failure today any more
    live = province.get("/network/live").text
    assert 'data-failed="0"' in live and 'data-failed="1"' not in live
    # Only a room account reports a self-test; the page does not even offer it to others.
    assert 'data-report' not in province.get("/self-test").text
    assert province.post("/self-test/result", json=body, headers={"X-CSRF-Token": token(province)}).status_code == 403


def test_the_overview_is_for_coordinators_over_the_node(app, org):
    county = page_client(app, "coord.county")
    assert county.get(f"/network?node_id={org.nodes['city'].id}").status_code == 403
    assert county.get(f"/network?node_id={org.nodes['county2'].id}").status_code == 403
    assert county.get("/network?node_id=999999").status_code == 404
    up = page_client(app, "coord.province").get(f"/network?node_id={org.nodes['county'].id}").text
    assert f'href="/network?node_id={org.nodes["city"].id}" data-up' in up
    for username in ("leader.county", "handler", "room.township"):
        assert page_client(app, username).get("/network").status_code == 403, username
    assert page_client(app, "admin").get("/network").status_code == 200


def test_the_api_overview_and_a_room_heartbeat(client, org):
    clock.travel_to(at("2026-03-02", "10:00"))
    room = login(client, "room.township")
    township = org.rooms["township"].id
    beat = client.post(f"/api/v1/rooms/{township}/heartbeat", headers=room)
    assert beat.status_code == 200 and beat.json()["recorded"] is True
    assert client.post(f"/api/v1/rooms/{org.rooms['township2'].id}/heartbeat", headers=room).status_code == 403
    office = login(client, "coord.province")
    assert client.post(f"/api/v1/rooms/{township}/heartbeat", headers=office).status_code == 403
    view = client.get("/api/v1/network", headers=office).json()
    assert view["node"]["level"] == "province" and view["online_within_s"] == 90
    assert view["units"] == [{"node_id": org.nodes["city"].id, "name": "岚州市", "level": "city", "rooms": 3,
                              "online": 1, "failed_today": 0}]
    rooms = client.get("/api/v1/network/rooms", headers=office,
                       params={"node_id": org.nodes["township"].id}).json()
    assert [(r["id"], r["online"]) for r in rooms["items"]] == [(township, True)]
    clock.travel_to(at("2026-03-02", "10:00") + timedelta(seconds=91))
    assert client.get("/api/v1/network", headers=office).json()["totals"]["online"] == 0
    county = login(client, "coord.county")
    assert client.get("/api/v1/network", headers=county,
                      params={"node_id": org.nodes["city"].id}).status_code == 403
    assert client.get("/api/v1/network", headers=county, params={"node_id": 999999}).status_code == 404
