"""Plan recurrences over the official calendar: holidays move or drop days, 调休 Saturdays count, absences."""

from __future__ import annotations

from datetime import date, time

import pytest

from scheduling import plans
from tests.factories import POLICY, login
from tests.scheduling.conftest import at
from vreception import clock
from vreception.workdays import load_calendar


def _days(db, plan_id, first, last, leader_id=None):
    with db.transaction() as session:
        plan = plans.load_plan(plan_id, db=session)
        found = plans.occurrences(db=session, plans=[plan], calendar=load_calendar(db=session), policy=POLICY,
                                  first=first, last=last, leader_id=leader_id)
        return [(o.day, o.leader_id) for o in found], found


def _create(db, **kwargs):
    with db.transaction() as session:
        return plans.create_plan(db=session, policy=POLICY, **kwargs).id


def test_fifteenth_of_each_month_moves_to_the_next_working_day_in_2026(db, org):
    leader = org.people["leader_county"].id
    plan = _create(db, kind="monthly_day", leader_ids=[leader], day_of_month=15, starts=time(9), ends=time(11, 30),
                   valid_from=date(2026, 1, 1))
    days, found = _days(db, plan, date(2026, 1, 1), date(2026, 12, 31))
    # 2/15 is a Sunday in the Spring Festival holiday (to 2/23); 3/15, 11/15 Sundays; 8/15 a Saturday.
    assert [d for d, _ in days] == [date(2026, 1, 15), date(2026, 2, 24), date(2026, 3, 16), date(2026, 4, 15),
                                    date(2026, 5, 15), date(2026, 6, 15), date(2026, 7, 15), date(2026, 8, 17),
                                    date(2026, 9, 15), date(2026, 10, 15), date(2026, 11, 16), date(2026, 12, 15)]
    assert found[0].starts_at == at("2026-01-15", "09:00") and found[0].ends_at == at("2026-01-15", "11:30")
    # A month asked alone still finds the day moved into it from the month before.
    assert [d for d, _ in _days(db, plan, date(2026, 2, 16), date(2026, 2, 28))[0]] == [date(2026, 2, 24)]


def test_rotation_counts_make_up_saturdays_and_skips_holidays(db, org):
    a, b = org.people["leader_county"].id, org.people["leader_city"].id
    plan = _create(db, kind="rotation", leader_ids=[a, b], starts=time(9), ends=time(12), valid_from=date(2026, 2, 9))
    days, _ = _days(db, plan, date(2026, 2, 9), date(2026, 3, 3))
    by_day = dict(days)
    assert date(2026, 2, 14) in by_day  # 调休 Saturday is a working day
    assert date(2026, 2, 28) in by_day
    assert not any(date(2026, 2, 15) <= d <= date(2026, 2, 23) for d in by_day)  # Spring Festival
    assert date(2026, 2, 21) not in by_day and date(2026, 3, 1) not in by_day
    # Turns alternate over working days only: Mon 2/9 a, Tue b, Wed a, Thu b, Fri a, Sat 2/14 b, Tue 2/24 a.
    assert [by_day[date(2026, 2, d)] for d in (9, 10, 11, 12, 13, 14, 24)] == [a, b, a, b, a, b, a]
    september, _ = _days(db, plan, date(2026, 9, 19), date(2026, 9, 21))
    assert [d for d, _ in september] == [date(2026, 9, 20), date(2026, 9, 21)]  # Sunday 9/20 is a make-up workday
    only_b, _ = _days(db, plan, date(2026, 2, 9), date(2026, 2, 14), leader_id=b)
    assert [d for d, _ in only_b] == [date(2026, 2, 10), date(2026, 2, 12), date(2026, 2, 14)]


def test_weekly_plan_drops_holiday_weekdays_and_never_a_saturday(db, org):
    leader = org.people["leader_county"].id
    plan = _create(db, kind="weekly", leader_ids=[leader], weekday=2, half="afternoon", valid_from=date(2026, 9, 1))
    days, found = _days(db, plan, date(2026, 9, 1), date(2026, 10, 31))
    assert date(2026, 10, 7) not in [d for d, _ in days]  # National Day holiday
    assert all(d.weekday() == 2 for d, _ in days) and len(days) == 8
    assert found[0].starts_at == at("2026-09-02", "14:30")


def test_one_off_days_absences_and_validity(db, org):
    leader = org.people["leader_county"].id
    plan = _create(db, kind="dates", leader_ids=[leader], dates=[date(2026, 3, 5), date(2026, 3, 20)], starts=time(9),
                   ends=time(10), valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 31))
    with db.transaction() as session:
        plans.add_absence(db=session, leader_id=leader, day=date(2026, 3, 20), reason="出差")
    days, _ = _days(db, plan, date(2026, 3, 1), date(2026, 4, 30))
    assert [d for d, _ in days] == [date(2026, 3, 5)]


@pytest.mark.parametrize("change, field", [
    ({"kind": "monthly_day", "day_of_month": 32}, "day_of_month"),
    ({"kind": "weekly"}, "weekday"),
    ({"kind": "monthly_day", "day_of_month": 1, "leader_ids": "both"}, "leader_ids"),
    ({"kind": "monthly_day", "day_of_month": 1, "starts": "12:00", "ends": "09:00"}, "ends"),
    ({"kind": "monthly_day", "day_of_month": 1, "slot_minutes": 7}, "slot_minutes"),
    ({"kind": "monthly_day", "day_of_month": 1, "valid_until": "2025-01-01"}, "valid_until"),
    ({"kind": "monthly_day", "day_of_month": 1, "room_ids": [999999]}, "room_ids"),
])
def test_bad_plans_are_refused_with_the_field_named(client, org, db, change, field):
    headers = login(client, "coord.province")
    body = {"leader_ids": [org.people["leader_county"].id], "starts": "09:00", "ends": "11:00",
            "valid_from": "2026-01-01", **change}
    if body["leader_ids"] == "both":
        body["leader_ids"] = [org.people["leader_county"].id, org.people["leader_city"].id]
    response = client.post("/api/v1/plans", headers=headers, json=body)
    assert response.status_code in (404, 422), response.text
    assert response.json()["field"] == field
    assert client.get("/api/v1/plans", headers=headers).json() == {"items": [], "total": 0, "next": None}


def test_plan_api_publishes_and_only_coordinators_over_the_leader_may(client, org):
    body = {"kind": "weekly", "leader_ids": [org.people["leader_county"].id], "weekday": 2, "half": "morning",
            "room_ids": [org.rooms["county"].id], "scope": "劳动社保", "valid_from": "2026-01-01"}
    assert client.post("/api/v1/plans", headers=login(client, "coord.county2"), json=body).status_code == 403
    assert client.post("/api/v1/plans", headers=login(client, "leader.county"), json=body).status_code == 403
    created = client.post("/api/v1/plans", headers=login(client, "coord.county"), json=body)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["starts"] == "09:00:00" and plan["ends"] == "12:00:00" and plan["room_ids"] == [org.rooms["county"].id]
    listed = client.get(f"/api/v1/plans?leader_id={org.people['leader_county'].id}", headers=login(client, "leader.county"))
    assert [p["id"] for p in listed.json()["items"]] == [plan["id"]]


def test_published_plan_page_shows_next_month_in_chinese_and_english(client, org, db):
    clock.travel_to(at("2026-02-27", "10:00"))
    leader = org.people["leader_county"]
    _create(db, kind="monthly_day", leader_ids=[leader.id], day_of_month=15, starts=time(9), ends=time(11, 30),
            room_ids=[org.rooms["county"].id], scope="劳动社保<征地>", valid_from=date(2026, 1, 1))
    page = client.get(f"/plans/{org.nodes['county'].id}")
    assert page.status_code == 200
    text = page.text
    assert "城东区2026年3月领导接访安排" in text
    assert "2026-03-16 星期一" in text and "09:00–11:30" in text  # 3/15 is a Sunday
    assert leader.name in text and "副县长" in text and "城东区视频接访室" in text
    assert "劳动社保&lt;征地&gt;" in text  # escaped
    english = client.get(f"/plans/{org.nodes['county'].id}?month=2026-02&lang=en")
    assert "2026-02-24 Tuesday" in english.text and "Leader" in english.text
    assert client.get(f"/plans/{org.nodes['county'].id}?month=2026-13").status_code == 422
    assert str(org.nodes["county"].id) in client.get("/plans").text


@pytest.mark.parametrize("times, field", [
    ({"half": "afternoon", "starts": "00:00:00Z", "ends": None}, "starts"),  # was a 500: aware vs naive compared
    ({"starts": "09:00:00+08:00", "ends": "11:00:00+08:00"}, "starts"),
    ({"starts": "09:00", "ends": "11:00:00Z"}, "ends"),
])
def test_plan_times_of_day_with_an_offset_are_refused(client, org, db, times, field):
    headers = {**login(client, "coord.county"), "accept-language": "en"}
    body = {"kind": "weekly", "weekday": 2, "leader_ids": [org.people["leader_county"].id],
            "valid_from": "2026-01-01", **times}
    response = client.post("/api/v1/plans", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid" and response.json()["field"] == field
    assert "without a UTC offset" in response.json()["detail"]
