"""Decisions a person takes: extensions approved by the unit's head, outcomes per demand, 不再受理 with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.cases.helpers import travel
from tests.factories import FreshHeaders, act, extend_org, register
from vreception.models import MatterEvent


def test_several_extensions_approved_by_the_head_of_the_unit_within_30_days(client, org, db):
    travel(2026, 3, 10)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    # Only a leader of the handling unit approves: not the city's, not a handler.
    act(client, headers, matter["id"], "extend", expect=422, days=10, reason="案情复杂")
    act(client, headers, matter["id"], "extend", expect=422, days=10, reason="案情复杂",
        approved_by=org.people["leader_city"].id)
    head = org.people["leader_county"]
    m = act(client, headers, matter["id"], "extend", days=10, reason="需补充调查", approved_by=head.id)
    assert m["deadlines"]["handling"]["due"] == "2026-05-19"  # 03-10 + 70
    m = act(client, headers, matter["id"], "extend", days=20, reason="需多部门会商", approved_by=head.id)
    assert m["deadlines"]["handling"]["due"] == "2026-06-08"  # 03-10 + 90
    act(client, headers, matter["id"], "extend", expect=422, days=1, reason="再延", approved_by=head.id)
    html = client.get(m["documents"][-1]["html_url"], headers=headers).text
    assert head.name in html and "20日" in html
    with db.transaction() as session:
        events = session.scalars(select(MatterEvent).where(MatterEvent.action == "extend")).all()
        assert [str(head.id) in e.data and head.name in e.data for e in events] == [True, True]


def test_the_reply_gives_an_outcome_per_demand_with_facts_basis_and_the_review_body(client, org):
    travel(2026, 3, 2)
    body_demands = [{"summary": "要求支付拖欠工资", "category": "wages"},
                    {"summary": "要求赔偿精神损失", "category": "wages"}]
    matter, headers = register(client, org, demands=body_demands)
    act(client, headers, matter["id"], "accept")
    first, second = (d["id"] for d in matter["demands"])
    act(client, headers, matter["id"], "reply", expect=422, outcomes={str(first): "support"})  # one left out
    m = act(client, headers, matter["id"], "reply", outcomes={str(first): "support", str(second): "not_support"},
            reason="经核查。", facts="某公司拖欠工资三个月。", basis="《保障农民工工资支付条例》第十五条")
    assert m["outcome"] == "mixed"
    html = client.get(m["documents"][-1]["html_url"], headers=headers).text
    assert "要求支付拖欠工资——<strong>支持</strong>" in html
    assert "要求赔偿精神损失——<strong>不予支持</strong>" in html
    assert "某公司拖欠工资三个月" in html and "第十五条" in html
    assert "三十日" not in html and "30日内向岚州市请求复查" in html


def test_a_flagged_matter_is_accepted_with_the_reason_it_is_new(client, org):
    travel(2026, 3, 2)
    first, headers = register(client, org)
    act(client, headers, first["id"], "not_accept", reason="不属于信访事项。")
    again, _ = register(client, org, headers=headers)
    assert again["possible_repeat"]
    act(client, headers, again["id"], "accept", expect=422)
    m = act(client, headers, again["id"], "accept", reason="本次反映的是新的欠薪期间。")
    assert m["state"] == "accepted" and m["timeline"][-1]["reason"] == "本次反映的是新的欠薪期间。"


def _final(client, org, db):
    """A matter of 张三 carried through reply, 复查 (the city) and 复核 (the province) to its final opinion."""
    extend_org(db, org)
    city, province = FreshHeaders(client, "coord.city"), FreshHeaders(client, "coord.province")
    travel(2026, 3, 2)
    matter, county = register(client, org)
    act(client, county, matter["id"], "accept")
    act(client, county, matter["id"], "reply", outcome="not_support", reason="经核查，工资已结清。")
    act(client, county, matter["id"], "serve")
    act(client, county, matter["id"], "request_review")
    act(client, city, matter["id"], "review_reply", outcome="not_support", reason="维持。")
    act(client, city, matter["id"], "serve")
    act(client, city, matter["id"], "request_recheck")
    act(client, province, matter["id"], "recheck_reply", outcome="not_support", reason="复核维持。")
    assert act(client, province, matter["id"], "serve")["state"] == "final"
    return matter, county


@pytest.mark.slow  # the whole procedure to a final opinion first
def test_after_a_final_opinion_a_new_demand_is_accepted_and_the_same_one_refused_by_decision(client, org, db):
    final, county = _final(client, org, db)
    travel(2026, 6, 1)
    # Another demand of the same person and category, 42% alike: similarity only warns.
    other, _ = register(client, org, headers=county, summary="砖厂拖欠去年加班工资，请求依法处理")
    assert other["possible_repeat"]
    assert [(r["id"], r["reason"]) for r in other["possible_repeats"]] == [(final["id"], "similar_demands")]
    act(client, county, other["id"], "accept", expect=422)  # a flagged matter is accepted with the reason it is new
    m = act(client, county, other["id"], "accept", reason="反映的是砖厂拖欠加班工资，与已终结事项的诉求不同。")
    assert m["state"] == "accepted" and [d["kind"] for d in m["documents"]] == ["acceptance_notice"]
    assert "事实和理由相同" not in client.get(m["documents"][0]["html_url"], headers=county).text
    # The same demand again: a person decides it is not accepted again (不再受理), says why, and it is served.
    same, _ = register(client, org, headers=county)
    act(client, county, same["id"], "refuse_repeat", expect=422)  # the decision needs its reason
    m = act(client, county, same["id"], "refuse_repeat", reason="与已复核终结的事项事实和理由相同，未提出新的事实。")
    assert (m["state"], m["outcome"]) == ("closed", "not_reaccepted")
    refusal = m["documents"][-1]
    assert refusal["kind"] == "repeat_refusal" and refusal["title"] == "不再受理告知书"
    html = client.get(refusal["html_url"], headers=county).text
    assert final["number"] in html and "未提出新的事实" in html
    m = act(client, county, same["id"], "serve_notice", document_id=refusal["id"], method="direct")
    lookup = client.get(f"/api/v1/public/matters/{same['number']}", params={"code": same["query_code"]}).json()
    assert [d["kind"] for d in lookup["documents"]] == ["repeat_refusal"]


def test_refuse_repeat_needs_an_earlier_final_matter(client, org):
    travel(2026, 3, 2)
    first, county = register(client, org)
    act(client, county, first["id"], "not_accept", reason="不属于信访事项。")
    again, _ = register(client, org, headers=county)
    assert again["possible_repeat"]  # similar to a matter that never reached a final opinion
    refused = client.post(f"/api/v1/matters/{again['id']}/actions", headers=county,
                          json={"action": "refuse_repeat", "reason": "重复。"})
    assert refused.status_code == 422 and refused.json()["field"] == "action"
