"""Each booking rule is a 422 with its own code and a message naming the reason (zh-CN, English on request)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import login, make_matter
from tests.scheduling.conftest import at, iso, reception
from vreception import clock
from vreception.models.scheduling import ReceptionSession

EN = {"Accept-Language": "en"}


def _book(client, username, body, english=False):
    headers = login(client, username)
    if english:
        headers = {**headers, **EN}
    return client.post("/api/v1/sessions", headers=headers, json=body)


def _refused(response, code):
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code, response.text
    return response.json()["detail"]


def test_level_skip_is_refused_unless_a_coordinator_over_the_leader_records_a_reason(client, world, db):
    org = world.org
    city = {**reception(world), "leader_id": org.people["leader_city"].id}
    detail = _refused(_book(client, "coord.county", city), "level_skip")
    assert "越级" in detail and "桃源镇" in detail and "乡级" in detail and "岚州市" in detail and "市级" in detail
    english = _refused(_book(client, "coord.county", city, english=True), "level_skip")
    assert "Level skip" in english and "Township" in english
    # The county office cannot lift the rule for a city leader; an office over the city can.
    assert _book(client, "coord.county", {**city, "override_reason": "市领导包案，经批准"}).status_code == 403
    allowed = _book(client, "coord.province", {**city, "override_reason": "市领导包案，经批准"})
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["override_reason"] == "市领导包案，经批准"
    with db.transaction() as session:
        assert session.get(ReceptionSession, allowed.json()["id"]).override_reason == "市领导包案，经批准"


def test_level_rule_allows_the_proper_level_and_the_one_above_in_the_same_chain(client, world, db):
    org = world.org
    county_matter = make_matter(db, origin=org.nodes["county"], handling=org.nodes["county"])
    other_county = make_matter(db, origin=org.nodes["township2"], handling=org.nodes["county2"])
    # A county matter may see the city leader (one above); a township matter of another county may not
    # see this county's leader, though the level would fit.
    city = {**reception(world), "leader_id": org.people["leader_city"].id, "matter_id": county_matter}
    assert _book(client, "coord.province", city).status_code == 201
    wrong_chain = {**reception(world, start="10:00", end="10:30"), "matter_id": other_county}
    _refused(_book(client, "coord.province", wrong_chain), "level_skip")
    assert _book(client, "coord.county", reception(world, start="10:00", end="10:30")).status_code == 201


def test_more_than_five_representatives_are_refused(client, world):
    six = [{"role": "representative", "name": f"代表{i}"} for i in range(6)]
    detail = _refused(_book(client, "coord.county", {**reception(world), "participants": six}), "too_many_representatives")
    assert "6" in detail and "5" in detail
    assert "at most 5" in _refused(_book(client, "coord.county", {**reception(world), "participants": six}, True),
                                   "too_many_representatives")
    assert _book(client, "coord.county", {**reception(world), "participants": six[:5]}).status_code == 201


@pytest.mark.parametrize("state, accepted_days_ago, review_due_in, bookable, words", [
    ("closed", None, None, False, "已办结或终结"),
    ("final", None, None, False, "已办结或终结"),
    ("accepted", 30, None, False, "正在办理中"),
    ("accepted", 70, None, True, None),
    ("served", 80, -1, False, "复查申请期限"),
    ("served", 80, 3, True, None),
    ("registered", None, None, True, None),
])
def test_matters_that_cannot_take_a_leader_slot(client, world, db, state, accepted_days_ago, review_due_in,
                                                bookable, words):
    org = world.org
    now = clock.now()
    accepted = now - timedelta(days=accepted_days_ago) if accepted_days_ago else None
    deadlines = [("review_request", date(2026, 3, 2) + timedelta(days=review_due_in))] if review_due_in else []
    matter = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"], state=state,
                         accepted_at=accepted, deadlines=deadlines)
    response = _book(client, "coord.county", {**reception(world), "matter_id": matter})
    if bookable:
        assert response.status_code == 201, response.text
    else:
        assert words in _refused(response, "matter_not_bookable")
        _refused(_book(client, "coord.county", {**reception(world), "matter_id": matter}, True), "matter_not_bookable")


def test_outside_the_plan_unless_an_invited_session_by_a_coordinator(client, world):
    afternoon = reception(world, start="15:00", end="15:30")
    assert "测试leader_county" in _refused(_book(client, "coord.county", afternoon), "outside_plan")
    assert "published reception plan" in _refused(_book(client, "coord.county", afternoon, True), "outside_plan")
    saturday = reception(world, day="2026-03-07")
    _refused(_book(client, "coord.county", saturday), "outside_plan")
    invited = _book(client, "coord.county", {**afternoon, "invited": True, "reason": "约访"})
    assert invited.status_code == 201 and invited.json()["invited"] is True


def test_booking_cut_off_is_17_00_the_day_before(client, world):
    clock.travel_to(at("2026-03-03", "16:59"))
    assert _book(client, "coord.county", reception(world)).status_code == 201
    clock.travel_to(at("2026-03-03", "17:01"))
    detail = _refused(_book(client, "coord.county", reception(world, start="10:00", end="10:30")), "past_cutoff")
    assert "2026-03-03 17:00" in detail
    assert "Booking closed" in _refused(_book(client, "coord.county", reception(world, start="10:00", end="10:30"), True),
                                        "past_cutoff")
    # The day before is a calendar day: a Monday session can be booked on Sunday until 17:00.
    clock.travel_to(at("2026-03-08", "16:00"))
    assert _book(client, "coord.county", reception(world, day="2026-03-09")).status_code == 201


def test_the_cut_off_follows_the_settings(world, settings, db):
    from fastapi.testclient import TestClient

    from vreception.app import create_app

    app = create_app(settings.model_copy(update={"booking_cutoff_hour": 12, "booking_cutoff_days_before": 2}), db)
    client = TestClient(app)
    clock.travel_to(at("2026-03-02", "12:30"))
    _refused(_book(client, "coord.county", reception(world)), "past_cutoff")
    assert _book(client, "coord.county", reception(world, day="2026-03-05")).status_code == 201


def test_a_closed_room_and_an_absent_leader_are_refused_by_name(client, world):
    org = world.org
    headers = login(client, "coord.county")
    closure = client.post(f"/api/v1/rooms/{org.rooms['township'].id}/closures", headers=headers, json={
        "start": iso("2026-03-04", "08:00"), "end": iso("2026-03-04", "10:00"), "reason": "设备检修"})
    assert closure.status_code == 201, closure.text
    assert "桃源镇视频接访室" in _refused(_book(client, "coord.county", reception(world)), "room_closed")
    hours = client.put(f"/api/v1/rooms/{org.rooms['township'].id}/hours", headers=headers,
                       json=[{"opens": "09:00", "closes": "11:00"}])
    assert hours.status_code == 200
    _refused(_book(client, "coord.county", reception(world, day="2026-03-05", start="11:00", end="11:30")), "room_closed")
    assert _book(client, "coord.county", reception(world, day="2026-03-05", start="10:30", end="11:00")).status_code == 201
    away = client.post(f"/api/v1/leaders/{org.people['leader_county'].id}/absences", headers=headers,
                       json={"day": "2026-03-06", "reason": "到省里开会"})
    assert away.status_code == 201
    assert "2026-03-06" in _refused(_book(client, "coord.county", reception(world, day="2026-03-06")), "leader_away")
    assert client.post(f"/api/v1/leaders/{org.people['leader_county'].id}/absences", headers=login(client, "coord.county2"),
                       json={"day": "2026-03-09"}).status_code == 403


def test_walk_in_session_starts_now_outside_plan_and_still_claims(client, world, db):
    clock.travel_to(at("2026-03-07", "15:02"))  # a Saturday afternoon: no plan, no cut-off
    walk_in = {"kind": "reception", "leader_id": world.org.people["leader_county"].id,
               "room_ids": [world.org.rooms["township"].id], "matter_id": world.matter, "ad_hoc": True,
               "reason": "信访人现场来访"}
    response = _book(client, "coord.county", walk_in)
    assert response.status_code == 201, response.text
    assert response.json()["start"] == "2026-03-07T15:00:00+08:00" and response.json()["end"] == "2026-03-07T15:30:00+08:00"
    assert response.json()["ad_hoc"] is True
    again = _book(client, "coord.province", walk_in)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert _refused(_book(client, "coord.county", {**walk_in, "reason": ""}), "invalid")
    assert _book(client, "leader.county", walk_in).status_code == 403
    with db.transaction() as session:
        assert session.scalar(select(ReceptionSession.ad_hoc)) is True
