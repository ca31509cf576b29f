"""User input comes back escaped on every page that shows it."""

from __future__ import annotations

from datetime import datetime

from tests.factories import SH, build_scene, id_number, page_client, token

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _post(client, url, form, expect=(200, 303)):
    response = client.post(url, data={**form, "csrf_token": token(client)})
    assert response.status_code in expect, (url, response.status_code, response.text[:300])
    assert XSS not in response.text, url
    return response


def test_script_in_every_text_field_comes_back_escaped(app, org, settings, db):
    scene = build_scene(db, org, settings)
    coord, handler = page_client(app, "coord.county"), page_client(app, "handler")
    org_ids = {"origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id}

    registered = _post(coord, "/matters", {
        "petitioner_name": [XSS, "", ""], "petitioner_id": [id_number(9), "", ""], "petitioner_phone": ["", "", ""],
        "demand_summary": [XSS, "", ""], "demand_category": ["wages", "wages", "wages"], "channel": "visit", **org_ids})
    number = registered.text.split("data-matter-number>")[1].split("<")[0]
    refused = _post(coord, "/matters", {"petitioner_name": XSS, "petitioner_id": XSS, "petitioner_phone": XSS,
                                        "demand_summary": XSS, "demand_category": "wages", "channel": "visit",
                                        "received_at": XSS, **org_ids}, expect=(422,))
    assert refused.text.count(ESCAPED) >= 4
    warning = _post(coord, "/matters/new/repeat-check", {"petitioner_name": XSS, "petitioner_id": id_number(9),
                                                         "demand_summary": XSS, "demand_category": "wages"})
    assert number in warning.text

    _post(coord, f"/matters/{scene.matter}/actions", {"action": "extend", "days": "10", "reason": XSS,
                                                      "approved_by": org.people["leader_county"].id})
    _post(coord, f"/matters/{scene.matter}/tasks", {"unit_node_id": org.nodes["county_dept"].id, "title": XSS,
                                                    "detail": XSS, "due_day": "2026-03-20"})
    _post(handler, f"/tasks/{scene.task}/report", {"text": XSS})
    _post(coord, f"/tasks/{scene.task}/move", {"action": "send_back", "text": XSS})
    matter_page = coord.get(f"/matters/{scene.matter}").text
    assert XSS not in matter_page and matter_page.count(ESCAPED) >= 4  # demand, reason, task title, feedback
    task_page = handler.get(f"/tasks/{scene.task}").text
    assert XSS not in task_page and task_page.count(ESCAPED) >= 2  # feedback and the note sent back

    slot = f"{datetime(2026, 3, 5, 9, 0, tzinfo=SH).isoformat()}|{datetime(2026, 3, 5, 9, 30, tzinfo=SH).isoformat()}"
    booked = _post(coord, f"/matters/{scene.matter}/book", {
        "leader_id": org.people["leader_county"].id, "room_id": org.rooms["township"].id, "slot": slot,
        "reason": XSS, "override_reason": XSS, "week": XSS}, expect=(200, 303, 409, 422))
    _post(coord, f"/sessions/{scene.session}/cancel", {"reason": XSS})
    session_page = coord.get(f"/sessions/{scene.session}").text
    assert XSS not in session_page and ESCAPED in session_page
    assert XSS not in booked.text

    _post(coord, "/leader-plans", {"leader_id": org.people["leader_county"].id, "kind": "weekly", "weekday": "2",
                                   "starts": "14:00", "ends": "17:00", "slot_minutes": "30", "buffer_minutes": "0",
                                   "scope": XSS, "valid_from": "2026-04-01"})
    plans_page = coord.get("/leader-plans").text
    assert XSS not in plans_page and ESCAPED in plans_page
    failed_plan = _post(coord, "/leader-plans", {"leader_id": org.people["leader_county"].id, "kind": XSS,
                                                 "starts": "14:00", "ends": "17:00", "scope": XSS,
                                                 "valid_from": "2026-04-01"}, expect=(422,))
    assert ESCAPED in failed_plan.text

    anonymous = page_client(app, None)
    looked_up = _post(anonymous, "/lookup", {"number": XSS, "code": XSS}, expect=(404,))
    assert ESCAPED in looked_up.text
    kiosk = page_client(app, "room.township")
    _post(kiosk, f"/kiosk/sessions/{scene.session}/rate", {"code": XSS, "rating": XSS}, expect=(404, 422))
    for url in ("/dashboard", "/tasks", "/matters"):
        assert XSS not in coord.get(url).text
    assert XSS not in page_client(app, "leader.county").get("/agenda").text
