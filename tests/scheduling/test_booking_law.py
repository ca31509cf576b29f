"""Leader slots follow the law: no legal-channel matters (诉访分离) and only matters within the leader's published
scope, unless a coordinator overrides with a recorded reason (the overridden rule is audited)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scheduling import rules
from tests.factories import csrf_of, login, page_client, register_matter
from tests.scheduling.conftest import iso, reception
from vreception.errors import Invalid
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


def test_a_scope_chosen_as_categories_is_published_by_name_and_read_back():
    scope = rules.compose_scope(["land", "housing", "land"], "  本乡镇事项优先 ")
    assert scope == "土地征收与补偿、城乡建设与房屋；本乡镇事项优先"
    assert rules.split_scope(scope) == (["land", "housing"], "本乡镇事项优先")
    assert rules.scope_categories(scope) == {"land", "housing"}
    assert rules.compose_scope(["other"]) == "其他" and rules.scope_categories("其他") == {"other"}
    assert rules.split_scope("劳动社保、征地拆迁") == ([], "劳动社保、征地拆迁")  # prose: all note
    with pytest.raises(Invalid):
        rules.compose_scope(["wages", "no_such_category"])


def _plan_form(world, **extra) -> dict:
    org = world.org
    return {"leader_id": str(org.people["leader_county"].id), "kind": "rotation", "starts": "09:00", "ends": "12:00",
            "slot_minutes": "30", "buffer_minutes": "10", "room_id": str(org.rooms["county"].id),
            "valid_from": "2026-01-01", **extra}


def _active_plan(db, world) -> ReceptionPlan:
    with db.transaction() as session:
        plan = session.scalars(select(ReceptionPlan).where(ReceptionPlan.active.is_(True), ReceptionPlan.id.notin_(
            [world.county_plan, world.city_plan])).order_by(ReceptionPlan.id.desc())).first()
        session.expunge(plan)
        return plan


def test_the_plan_form_offers_the_categories_and_booking_checks_them(app, client, world, db, settings):
    coord = page_client(app, "coord.county")
    form = coord.get(f"/leader-plans/{world.county_plan}/edit")
    assert 'name="scope_categories" multiple' in form.text and '<option value="wages">劳动工资拖欠</option>' in form.text
    # An unknown category is refused in Chinese, the form keeping what was chosen.
    refused = coord.post(f"/leader-plans/{world.county_plan}", follow_redirects=False, data={
        **_plan_form(world), "scope_categories": ["land", "nonsense"], "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 422 and "nonsense" in refused.text
    assert '<option value="land" selected>' in refused.text
    saved = coord.post(f"/leader-plans/{world.county_plan}", follow_redirects=False, data={
        **_plan_form(world), "scope_categories": ["land", "housing"], "scope": "本乡镇事项优先",
        "csrf_token": csrf_of(form.text)})
    assert saved.status_code == 303, saved.text[:500]
    plan = _active_plan(db, world)
    assert plan.scope == "土地征收与补偿、城乡建设与房屋；本乡镇事项优先"
    edit = coord.get(f"/leader-plans/{plan.id}/edit").text
    assert '<option value="land" selected>' in edit and '<option value="wages">' in edit and "本乡镇事项优先" in edit
    wages = _matter(db, world, settings, "wages")
    detail = _refused(_book(client, reception(world, matter_id=wages)), "outside_leader_scope")
    assert "劳动工资拖欠" in detail and "土地征收与补偿" in detail
    land = _matter(db, world, settings, "land")
    booked = _book(client, reception(world, start="10:00", end="10:30", matter_id=land))
    assert booked.status_code == 201, booked.text
    assert _overridden(db, booked.json()["id"]) == []


def test_the_plan_api_takes_the_same_categories_as_the_form(client, world, db):
    headers = login(client, "coord.county")
    org = world.org
    body = {"kind": "rotation", "leader_ids": [org.people["leader_county"].id], "starts": "09:00", "ends": "12:00",
            "room_ids": [org.rooms["county"].id], "valid_from": "2026-01-01", "scope": "本乡镇事项优先"}
    refused = client.post("/api/v1/plans", headers=headers, json={**body, "scope_categories": ["land", "nonsense"]})
    assert refused.status_code == 422, refused.text
    created = client.post("/api/v1/plans", headers=headers, json={**body, "scope_categories": ["land", "housing"]})
    assert created.status_code == 201, created.text
    assert created.json()["scope"] == "土地征收与补偿、城乡建设与房屋；本乡镇事项优先"
