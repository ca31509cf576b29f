"""转送 and 交办 hand the matter over: the receiving body's own clocks, the objection window, the completion report."""

from __future__ import annotations

from tests.cases.helpers import travel
from tests.factories import FreshHeaders, act, extend_org, register
from vreception.models import Matter


def _handling(db, matter_id: int) -> int:
    with db.transaction() as session:
        return session.get(Matter, matter_id).handling_node_id


def test_transfer_hands_the_matter_over_with_its_own_clocks(client, org, db):
    travel(2026, 3, 2)
    matter, county = register(client, org)
    travel(2026, 3, 5)
    m = act(client, county, matter["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    assert m["state"] == "registered" and m["number"] == matter["number"]
    assert _handling(db, matter["id"]) == org.nodes["county2"].id
    # The county's own 15 days ended with the transfer, in time; the receiving body's start on 03-05.
    assert m["deadlines"]["acceptance"] == {**m["deadlines"]["acceptance"], "due": "2026-03-20", "state": "open"}
    assert m["deadlines"]["remit_objection"]["due"] == "2026-03-12"  # 5 working days from Thursday 03-05
    notice = m["documents"][-1]
    assert notice["kind"] == "transfer_notice"
    county2 = FreshHeaders(client, "coord.county2")
    html = client.get(notice["html_url"], headers=county2).text
    assert "已转送城西区处理" in html and "张三" in html and "城东区信转〔2026〕1号" in html
    # The receiving body accepts it: acceptance notice in its own name.
    accepted = act(client, county2, matter["id"], "accept")
    assert accepted["documents"][-1]["number"].startswith("城西区信受")


def test_objection_inside_the_window_sends_the_matter_back_for_checking(client, org, db):
    travel(2026, 9, 29)
    matter, county = register(client, org)
    travel(2026, 9, 30)
    act(client, county, matter["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    county2 = FreshHeaders(client, "coord.county2")
    # 5 working days from 09-30 run past National Day: 10-09 (a make-up Saturday), 10-12, 10-13.
    travel(2026, 10, 13)
    m = act(client, county2, matter["id"], "object_remit", reason="不属本机关职责")
    assert m["state"] == "registered" and _handling(db, matter["id"]) == org.nodes["county"].id
    assert m["deadlines"]["remit_objection"]["state"] == "met"


def test_objection_after_the_window_is_window_closed(client, org):
    travel(2026, 9, 29)
    matter, county = register(client, org)
    travel(2026, 9, 30)
    act(client, county, matter["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    travel(2026, 10, 14)
    late = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=FreshHeaders(client, "coord.county2"),
                       json={"action": "object_remit", "reason": "不属本机关职责"})
    assert late.status_code == 422 and late.json()["code"] == "window_closed"


def test_a_matter_never_handed_over_has_no_objection_window(client, org):
    travel(2026, 3, 2)
    matter, county = register(client, org)
    refused = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=county,
                          json={"action": "object_remit", "reason": "不属本机关职责"})
    assert refused.status_code == 422 and refused.json()["code"] == "window_closed"


def test_assignment_sets_a_deadline_and_expects_a_completion_report(client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    matter, county = register(client, org)
    act(client, county, matter["id"], "assign", expect=422, to_node_id=org.nodes["county_dept"].id)  # no deadline
    m = act(client, county, matter["id"], "assign", to_node_id=org.nodes["county_dept"].id, days=10,
            reason="请核实欠薪情况。")
    assert m["state"] == "assigned" and m["deadlines"]["completion"]["due"] == "2026-03-12"
    letter = m["documents"][-1]
    assert letter["kind"] == "assignment_letter" and letter["number"].startswith("城东区信交")
    assert "2026年3月12日" in client.get(letter["html_url"], headers=county).text
    handler = FreshHeaders(client, "handler")
    travel(2026, 3, 10)
    act(client, handler, matter["id"], "report_completion", expect=422)  # the report needs its text
    client.post(f"/api/v1/matters/{matter['id']}/actions", headers=handler,
                json={"action": "report_completion", "reason": "已督促企业结清工资。"})
    with db.transaction() as session:
        assert session.get(Matter, matter["id"]).state.value == "completion_reported"
    # The assigning office sends an insufficient report back, then verifies the next one.
    m = act(client, county, matter["id"], "return_completion", reason="请附工资发放凭证。", days=5)
    assert m["state"] == "assigned" and m["deadlines"]["completion"]["due"] == "2026-03-16"  # 03-15 is a Sunday
    act(client, county, matter["id"], "report_completion", reason="已附工资发放凭证。")
    m = act(client, county, matter["id"], "verify_completion")
    assert m["state"] == "closed" and m["outcome"] == "assigned_done"
    assert [d["kind"] for d in m["documents"]] == ["assignment_letter", "completion_report", "completion_report"]
    assert m["deadline_history"][0]["kind"] == "acceptance"
