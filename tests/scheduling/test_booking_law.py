"""Leader slots follow the law: no legal-channel matters (诉访分离) and only matters within the leader's published
scope, unless a coordinator overrides with a recorded reason (the overridden rule is audited)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scheduling import rules
from tests.factories import csrf_of, login, page_client, register_matter
from tests.scheduling.conftest import iso, reception
from vreception.models.audit import AuditEvent
from vreception.models.scheduling import ReceptionPlan

EN = {"Accept-Language": "en"}
REASON = "县领导包案，经批准"


def _matter(db, world, settings, category: str) -> int:
    with db.transaction() as session:
        matter, _ = register_matter(session, world.org, settings, category=category)
        return matter.id


def _set_scope(db, plan_id: int, scope: str) -> None:
    with db.transaction() as session:
        session.get(ReceptionPlan, plan_id).scope = scope


def _book(client, body, username="coord.county", english=False):
    headers = login(client, username)
    return client.post("/api/v1/sessions", headers={**headers, **EN} if english else headers, json=body)


def _refused(response, code: str) -> str:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code, response.text
    return response.json()["detail"]


def _overridden(db, session_id: int) -> list[str]:
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "session.booked",
                                                         AuditEvent.entity_id == str(session_id))).one()
        return json.loads(event.data)["overridden"]


@pytest.mark.parametrize("category, channel, english", [
    ("court_judgment", "诉讼", "Litigation"),
    ("labour_dispute", "仲裁", "Arbitration"),
    ("admin_decision", "行政复议", "Administrative review"),
])
def test_a_legal_channel_matter_takes_no_leader_slot_without_a_recorded_override(client, world, db, settings,
                                                                               category, channel, english):
    matter = _matter(db, world, settings, category)
    body = reception(world, matter_id=matter)
    detail = _refused(_book(client, body), "legal_channel_booking")
    assert channel in detail and "诉访分离" in detail
    assert english in _refused(_book(client, body, english=True), "legal_channel_booking")
    allowed = _book(client, {**body, "override_reason": REASON})
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["override_reason"] == REASON
    assert _overridden(db, allowed.json()["id"]) == ["legal_channel_booking"]


def test_a_legal_channel_matter_may_still_have_a_hearing_or_a_consultation(client, world, db, settings):
    matter = _matter(db, world, settings, "court_judgment")
    consultation = _book(client, {**reception(world, matter_id=matter), "kind": "consultation"})
    assert consultation.status_code == 201, consultation.text


def test_a_matter_outside_the_leaders_published_scope_is_refused_unless_overridden(client, world, db, settings):
    _set_scope(db, world.county_plan, "土地征收与补偿、城乡建设与房屋")
    matter = _matter(db, world, settings, "wages")
    body = reception(world, matter_id=matter)
    detail = _refused(_book(client, body), "outside_leader_scope")
    assert "劳动工资拖欠" in detail and "土地征收与补偿" in detail and "接访范围" in detail
    assert "outside the scope" in _refused(_book(client, body, english=True), "outside_leader_scope")
    allowed = _book(client, {**body, "override_reason": REASON})
    assert allowed.status_code == 201, allowed.text
    assert _overridden(db, allowed.json()["id"]) == ["outside_leader_scope"]


def test_a_matter_within_the_scope_is_booked_and_nothing_is_overridden(client, world, db, settings):
    _set_scope(db, world.county_plan, "劳动工资拖欠；社会保障")
    matter = _matter(db, world, settings, "wages")
    booked = _book(client, reception(world, matter_id=matter))
    assert booked.status_code == 201, booked.text
    assert _overridden(db, booked.json()["id"]) == []


def test_an_override_records_every_rule_it_lifts(client, world, db, settings):
    _set_scope(db, world.county_plan, "土地征收与补偿")
    matter = _matter(db, world, settings, "court_judgment")
    body = reception(world, matter_id=matter)
    _refused(_book(client, body), "legal_channel_booking")
    allowed = _book(client, {**body, "override_reason": REASON})
    assert allowed.status_code == 201, allowed.text
    assert _overridden(db, allowed.json()["id"]) == ["legal_channel_booking", "outside_leader_scope"]


def test_an_invited_booking_off_plan_is_held_to_every_plan_of_the_leader(client, world, db, settings):
    _set_scope(db, world.county_plan, "土地征收与补偿")
    matter = _matter(db, world, settings, "wages")
    off_plan = reception(world, start="14:00", end="14:30", matter_id=matter, invited=True, reason="领导约访")
    _refused(_book(client, off_plan), "outside_leader_scope")


def test_the_booking_page_check_names_the_legal_channel_instead_of_rules_ok(app, world, db, settings):
    matter = _matter(db, world, settings, "court_judgment")
    browser = page_client(app, "coord.county")
    form = browser.get(f"/matters/{matter}/book")
    assert form.status_code == 200, form.text
    verdict = browser.post(f"/matters/{matter}/book/check", data={
        "csrf_token": csrf_of(form.text), "leader_id": world.org.people["leader_county"].id,
        "room_id": world.org.rooms["township"].id, "slot": f"{iso('2026-03-04', '09:00')}|{iso('2026-03-04', '09:30')}"})
    assert verdict.status_code == 200, verdict.text
    assert 'data-check="legal_channel_booking"' in verdict.text and "符合预约规则" not in verdict.text


@pytest.mark.parametrize("scope, codes", [
    ("劳动争议、社会保障", {"labour_dispute", "social_security"}),
    ("wages, other", {"wages", "other"}),
    ("土地征收与补偿及相关安置", {"land"}),
    ("劳动社保、征地拆迁", None),  # prose naming no category: nothing to check against
    ("", None),
])
def test_which_categories_a_published_scope_names(scope, codes):
    assert rules.scope_categories(scope) == codes
