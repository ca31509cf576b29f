"""复查 and 复核 by the body one level up: who records the opinion, whose name it bears, who holds the matter."""

from __future__ import annotations

from sqlalchemy import select

from tests.cases.helpers import at, travel
from tests.factories import FreshHeaders, act, extend_org, register
from vreception.models import AuditEvent, Matter


def _served_reply(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    travel(2026, 4, 20)
    act(client, headers, matter["id"], "reply", outcome="explain", reason="经核查，工资已于四月结清。")
    travel(2026, 4, 22)
    act(client, headers, matter["id"], "serve")
    return matter, headers


def _holding(db, matter_id: int) -> int | None:
    with db.transaction() as session:
        matter = session.get(Matter, matter_id)
        return matter.holding_node_id


def test_review_is_decided_by_the_body_one_level_up(client, org, db):
    extend_org(db, org)
    matter, county = _served_reply(client, org)
    travel(2026, 5, 20)
    m = act(client, county, matter["id"], "request_review")
    assert _holding(db, matter["id"]) == org.nodes["city"].id
    assert m["timeline"][-1]["action"] == "request_review"
    # The county replied: it does not review its own reply.
    refused = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=county,
                          json={"action": "review_reply", "outcome": "not_support", "reason": "维持。"})
    assert refused.status_code == 403
    # Nor does a body above the city decide in its stead.
    act(client, FreshHeaders(client, "coord.province"), matter["id"], "review_reply", expect=403, outcome="support",
        reason="支持。")
    city = FreshHeaders(client, "coord.city")
    m = act(client, city, matter["id"], "review_reply", outcome="not_support", reason="维持原处理意见。")
    opinion = m["documents"][-1]
    assert opinion["kind"] == "review_opinion" and opinion["number"].startswith("岚州市信复查〔2026〕")
    html = client.get(opinion["html_url"], headers=city).text
    assert '<div class="sign">岚州市<br>' in html and "城东区<br>" not in html
    # The 复核 goes one level further up: to the province, named in the review opinion.
    assert "向青岚省请求复核" in html


def test_second_review_is_decided_by_the_body_above_the_reviewing_body(client, org, db):
    extend_org(db, org)
    matter, county = _served_reply(client, org)
    travel(2026, 5, 20)
    act(client, county, matter["id"], "request_review")
    city = FreshHeaders(client, "coord.city")
    act(client, city, matter["id"], "review_reply", outcome="not_support", reason="维持。")
    act(client, city, matter["id"], "serve")
    travel(2026, 6, 1)
    act(client, city, matter["id"], "request_recheck")
    assert _holding(db, matter["id"]) == org.nodes["province"].id
    act(client, city, matter["id"], "recheck_reply", expect=403, outcome="not_support", reason="维持。")
    province = FreshHeaders(client, "coord.province")
    m = act(client, province, matter["id"], "recheck_reply", outcome="not_support", reason="复核维持。")
    assert m["documents"][-1]["number"].startswith("青岚省信复核〔2026〕")


def test_a_review_request_that_came_in_time_is_recorded_later_with_its_date(client, org, db):
    extend_org(db, org)
    matter, county = _served_reply(client, org)  # served 04-22: the request window ends 05-22
    travel(2026, 5, 26)
    late = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=county,
                       json={"action": "request_review"})
    assert late.status_code == 422 and late.json()["code"] == "window_closed"
    future = at(2026, 5, 27).isoformat()
    act(client, county, matter["id"], "request_review", expect=422, requested_at=future)
    before_service = at(2026, 4, 21).isoformat()
    act(client, county, matter["id"], "request_review", expect=422, requested_at=before_service)
    m = act(client, county, matter["id"], "request_review", requested_at=at(2026, 5, 21).isoformat())
    assert m["state"] == "review_requested"
    assert m["deadlines"]["review_request"]["state"] == "met"
    # The review period runs from the request: 05-21 + 30 = 06-20, a Saturday → Monday 06-22.
    assert m["deadlines"]["review_decision"]["due"] == "2026-06-22"
    with db.transaction() as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.request_review")).one()
        assert "2026-05-21" in audited.data
