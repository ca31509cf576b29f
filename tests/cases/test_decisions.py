"""Decisions a person takes: extensions approved by the unit's head, outcomes per demand, 不再受理 with a reason."""

from __future__ import annotations

from sqlalchemy import select

from tests.cases.helpers import travel
from tests.factories import act, register
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
