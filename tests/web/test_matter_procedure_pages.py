"""The matter's procedure from its page and the API: extension approval, per-demand replies, service with a proof,
a late-recorded review request, the 办结报告, hand-over limits, and the registration of organisations and
accusations."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tests.cases.helpers import at, travel
from tests.factories import FreshHeaders, act, build_scene, extend_org, matter_body, page_client, register, token
from vreception.models import Document, Matter

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
BANK = "91110000802100433B"  # a valid 统一社会信用代码


def _post(client, url, form, files=None):
    return client.post(url, data={**form, "csrf_token": token(client)}, files=files, follow_redirects=False)


def _matter(db, matter_id: int) -> Matter:
    with db.transaction() as session:
        matter = session.get(Matter, matter_id)
        session.expunge(matter)
        return matter


def test_extension_from_the_page_names_the_approving_head_of_the_unit(app, org, settings, db):
    scene = build_scene(db, org, settings)
    coord = page_client(app, "coord.county")
    page = coord.get(f"/matters/{scene.matter}").text
    leader = org.people["leader_county"]
    assert 'name="approved_by"' in page and f'<option value="{leader.id}">' in page
    # Without the approving leader the extension is refused, in Chinese, and nothing changes.
    refused = _post(coord, f"/matters/{scene.matter}/actions", {"action": "extend", "days": "10", "reason": "需调查"})
    assert refused.status_code == 422 and "延期须由承办单位负责人批准" in refused.text
    assert _matter(db, scene.matter).extended is False
    # A leader of another unit does not approve it either.
    other = org.people["leader_city"]
    assert _post(coord, f"/matters/{scene.matter}/actions", {"action": "extend", "days": "10", "reason": "需调查",
                                                             "approved_by": str(other.id)}).status_code == 422
    done = _post(coord, f"/matters/{scene.matter}/actions",
                 {"action": "extend", "days": "10", "reason": "需调查", "approved_by": str(leader.id)})
    assert done.status_code == 303
    assert _matter(db, scene.matter).extended is True
    assert leader.name in coord.get(f"/matters/{scene.matter}").text  # the timeline names who approved


def test_reply_per_demand_then_serve_by_mail_with_a_scanned_proof(app, client, org, db):
    travel(2026, 3, 2)
    matter, headers = register(client, org, demands=[{"summary": "补发拖欠工资", "category": "wages"},
                                                     {"summary": "赔偿误工损失", "category": "wages"}])
    coord = page_client(app, "coord.county")
    url = f"/matters/{matter['id']}/actions"
    page = coord.get(f"/matters/{matter['id']}").text
    assert 'data-action="accept"' in page
    assert _post(coord, url, {"action": "accept"}).status_code == 303  # not flagged: no reason asked
    travel(2026, 3, 20)
    coord = page_client(app, "coord.county")  # signed in again after the time travel
    first, second = (d["id"] for d in matter["demands"])
    page = coord.get(f"/matters/{matter['id']}").text
    assert f'name="outcome_{first}"' in page and f'name="outcome_{second}"' in page
    replied = _post(coord, url, {"action": "reply", f"outcome_{first}": "support", f"outcome_{second}": "not_support",
                                 "facts": "经查，欠薪属实。", "basis": "《保障农民工工资支付条例》第三条",
                                 "reason": "督促企业补发工资。"})
    assert replied.status_code == 303, replied.text[:300]
    page = coord.get(f"/matters/{matter['id']}").text
    assert 'data-outcome="support"' in page and 'data-outcome="not_support"' in page
    travel(2026, 3, 23)
    coord = page_client(app, "coord.county")
    # Served by mail on the day before, recorded with the scanned 送达回证 uploaded from the page; not before issue.
    early = _post(coord, url, {"action": "serve", "method": "mail", "served_at": "2026-03-20T09:00"},
                  files={"proof": ("回证.png", PNG, "image/png")})
    assert early.status_code == 422 and "送达时间无效" in early.text
    served = _post(coord, url, {"action": "serve", "method": "mail", "served_at": "2026-03-22T09:00"},
                   files={"proof": ("回证.png", PNG, "image/png")})
    assert served.status_code == 303, served.text[:300]
    with db.transaction() as session:
        opinion = session.scalars(select(Document).where(Document.matter_id == matter["id"],
                                                         Document.kind == "reply_opinion")).one()
        assert (opinion.served_method, opinion.proof_type, opinion.proof_source) == ("mail", "image/png", "scan")
        assert opinion.served_at == at(2026, 3, 22, 9)
    page = coord.get(f"/matters/{matter['id']}").text
    assert 'data-service-method="mail"' in page and "邮寄送达" in page and "data-proof" in page
    view = client.get(f"/api/v1/matters/{matter['id']}", headers=headers).json()
    assert [d["outcome"] for d in view["demands"]] == ["support", "not_support"]
    assert view["documents"][-1]["served_method"] == "mail" and view["documents"][-1]["proof_sha256"]


def test_serve_an_issued_notice_and_record_a_review_request_that_came_in_time(app, client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    coord = page_client(app, "coord.county")
    url = f"/matters/{matter['id']}/actions"
    assert _post(coord, url, {"action": "accept"}).status_code == 303
    notice = _matter(db, matter["id"])
    with db.transaction() as session:
        acceptance = session.scalars(select(Document).where(Document.matter_id == notice.id,
                                                            Document.kind == "acceptance_notice")).one().id
    page = coord.get(f"/matters/{matter['id']}").text
    assert f'name="document_id" required><option value="{acceptance}">' in page
    assert _post(coord, url, {"action": "serve_notice", "document_id": str(acceptance), "method": "electronic"}
                 ).status_code == 303
    assert 'data-service-method="electronic"' in coord.get(f"/matters/{matter['id']}").text
    travel(2026, 3, 20)
    coord = page_client(app, "coord.county")  # signed in again after the time travel
    act(client, headers, matter["id"], "reply", outcome="explain", reason="已解释。")
    act(client, headers, matter["id"], "serve")
    travel(2026, 4, 30)
    coord = page_client(app, "coord.county")  # signed in again after the time travel
    # Asked on 04-10, inside the 30 days, recorded now; a request dated in the future is refused.
    late = _post(coord, url, {"action": "request_review", "requested_at": "2026-05-02T09:00"})
    assert late.status_code == 422 and "请求时间无效" in late.text
    assert _post(coord, url, {"action": "request_review", "requested_at": "2026-04-10T09:00"}).status_code == 303
    assert _matter(db, matter["id"]).review_requested_at == at(2026, 4, 10, 9)
    page = coord.get(f"/matters/{matter['id']}").text
    assert f'data-holding="{org.nodes["city"].id}"' in page
    # The county no longer decides: the review is the city's, on its own page.
    assert 'data-action="review_reply"' not in page
    assert 'data-action="review_reply"' in page_client(app, "coord.city").get(f"/matters/{matter['id']}").text


def test_the_assigning_office_verifies_the_completion_report_from_the_page(app, client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    coord = page_client(app, "coord.county")
    url = f"/matters/{matter['id']}/actions"
    assert _post(coord, url, {"action": "assign", "to_node_id": str(org.nodes["county_dept"].id), "days": "61",
                              "reason": "请核实"}).status_code == 422
    assert _post(coord, url, {"action": "assign", "to_node_id": str(org.nodes["county_dept"].id), "days": "10",
                              "reason": "请核实"}).status_code == 303
    travel(2026, 3, 10)
    coord = page_client(app, "coord.county")  # signed in again after the time travel
    act(client, FreshHeaders(client, "handler"), matter["id"], "report_completion", reason="已核实并补发。")
    page = coord.get(f"/matters/{matter['id']}").text
    assert 'data-action="verify_completion"' in page and 'data-action="return_completion"' in page
    assert _post(coord, url, {"action": "return_completion", "reason": ""}).status_code == 422  # why, in words
    assert _post(coord, url, {"action": "verify_completion", "reason": "核实无误"}).status_code == 303
    assert _matter(db, matter["id"]).state.value == "closed"


def test_the_transferring_office_still_reads_the_matter_it_sent_out_of_its_subtree(app, client, org, db):
    travel(2026, 3, 2)
    matter, county = register(client, org)
    coord = page_client(app, "coord.county")
    page = coord.get(f"/matters/{matter['id']}").text
    assert f'<option value="{org.nodes["county2"].id}">' in page  # a body outside its subtree is offered
    assert _post(coord, f"/matters/{matter['id']}/actions", {
        "action": "transfer", "to_node_id": str(org.nodes["county2"].id), "reason": "属城西区职责。"}).status_code == 303
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=county).status_code == 200
    listed = client.get("/api/v1/matters", headers=county).json()["items"]
    assert matter["id"] in [m["id"] for m in listed]
    # The transferring office reads it but no longer acts as the handling body.
    assert 'data-action="accept"' not in coord.get(f"/matters/{matter['id']}").text
    act(client, county, matter["id"], "accept", expect=403)
    # Once the receiving body objects and it comes back, the other county no longer reads it.
    county2 = FreshHeaders(client, "coord.county2")
    act(client, county2, matter["id"], "object_remit", reason="不属本机关职责")
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=county2).status_code == 403


def test_an_accusation_is_never_transferred_to_the_unit_it_accuses(app, client, org, db):
    travel(2026, 3, 2)
    headers = FreshHeaders(client, "coord.county")
    body = matter_body(org, channel="letter", accusation=True, accused_node_id=org.nodes["county2"].id,
                       accused_text="城西区某局", facts="违规审批。")
    body["petitioners"] = []
    created = client.post("/api/v1/matters", headers=headers, json=body)
    assert created.status_code == 201, created.text
    matter = created.json()
    refused = client.post(f"/api/v1/matters/{matter['id']}/actions", headers=headers,
                          json={"action": "transfer", "to_node_id": org.nodes["county2"].id, "reason": "转"})
    assert refused.status_code == 422 and refused.json()["field"] == "to_node_id"
    assert _matter(db, matter["id"]).handling_node_id == org.nodes["county"].id
    page = page_client(app, "coord.county").get(f"/matters/{matter['id']}").text
    assert "检举控告 · 保密" in page and "城西区某局" in page and "违规审批。" in page
    assert f'<option value="{org.nodes["county2"].id}">' not in page.split('value="transfer"')[1].split("</form>")[0]


def test_registration_page_takes_organisations_and_anonymous_accusations(app, org, db):
    travel(2026, 3, 2)
    coord = page_client(app, "coord.county")
    new = coord.get("/matters/new").text
    for field in ("petitioner_kind", "petitioner_credit_code", "petitioner_address", "facts", "accused_text",
                  "accused_node_id", "people_count", "accusation"):
        assert f'name="{field}"' in new, field
    base = {"origin_node_id": str(org.nodes["township"].id), "handling_node_id": str(org.nodes["county"].id),
            "demand_summary": "要求支付货款", "demand_category": "wages", "channel": "letter"}
    bad = _post(coord, "/matters", {**base, "petitioner_kind": "organisation", "petitioner_name": "某公司",
                                    "petitioner_credit_code": BANK[:-1] + "0", "petitioner_address": "城东区一路1号"})
    assert bad.status_code == 422 and "统一社会信用代码" in bad.text
    assert 'value="城东区一路1号"' in bad.text  # the form comes back as typed
    done = _post(coord, "/matters", {**base, "petitioner_kind": "organisation", "petitioner_name": "某公司",
                                     "petitioner_credit_code": BANK, "petitioner_address": "城东区一路1号",
                                     "facts": "合同到期未付款。", "people_count": "1"})
    assert done.status_code == 200 and "data-matter-number" in done.text
    anonymous = _post(coord, "/matters", {**base, "accusation": "1", "accused_text": "某科长",
                                          "accused_node_id": str(org.nodes["county_dept"].id),
                                          "demand_summary": "检举违规审批", "facts": "收受好处。"})
    assert anonymous.status_code == 200, anonymous.text[:500]
    with db.transaction() as session:
        newest = session.scalars(select(Matter).order_by(Matter.id.desc())).first()
        assert newest.accusation and newest.confidential and newest.facts == "收受好处。"


def test_action_api_validates_the_new_params(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    url = f"/api/v1/matters/{matter['id']}/actions"
    bad = client.post(url, headers=headers, json={"action": "serve_notice", "document_id": 1, "method": "pigeon"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid" and bad.json()["field"] == "method"
    days = client.post(url, headers=headers, json={"action": "assign", "to_node_id": 1, "days": 61})
    assert days.status_code == 422 and days.json()["field"] == "days"
    outcome = client.post(url, headers=headers, json={"action": "reply", "outcomes": {"1": "maybe"}, "reason": "x"})
    assert outcome.status_code == 422 and outcome.json()["field"].startswith("outcomes")
    naive = client.post(url, headers=headers, json={"action": "request_review", "requested_at": "2026-03-01T10:00"})
    assert naive.status_code == 422 and naive.json()["field"] == "requested_at"
    huge = base64.b64encode(PNG + b"\x00" * (1024 * 1024)).decode()
    too_large = client.post(url, headers=headers, json={"action": "serve_notice", "document_id": 1, "method": "mail",
                                                        "proof": huge, "proof_source": "scan"})
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    notice = client.get(f"/api/v1/matters/{matter['id']}", headers=headers).json()["documents"][0]
    assert notice["served_at"] is None
    m = act(client, headers, matter["id"], "serve_notice", document_id=notice["id"], method="mail",
            served_at=at(2026, 3, 2, 10).isoformat(), proof=base64.b64encode(PNG).decode(), proof_source="scan")
    assert m["documents"][0]["served_method"] == "mail" and m["documents"][0]["proof_source"] == "scan"
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ActionIn"]["properties"]
    for field in ("approved_by", "days", "outcomes", "facts", "basis", "requested_at", "document_id", "method",
                  "served_at", "proof", "proof_source"):
        assert schema[field].get("description"), field


def test_the_new_states_filter_the_list_and_the_dashboard_shows_them_with_the_new_figures(app, client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    office, unit = FreshHeaders(client, "coord.county"), FreshHeaders(client, "handler")
    dept = org.nodes["county_dept"].id
    assigned, _ = register(client, org, headers=office, serial=1, summary="事项一")
    reported, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    legal, _ = register(client, org, headers=office, serial=3, summary="事项三", category="housing")
    waiting, _ = register(client, org, headers=office, serial=4, summary="事项四", category="social_security")
    for matter in (assigned, reported):
        act(client, office, matter["id"], "assign", to_node_id=dept, days=10, reason="请办理。")
    travel(2026, 3, 5)
    act(client, unit, reported["id"], "report_completion", reason="已办结。")
    act(client, office, legal["id"], "route_legal", channel="litigation", reason="属诉讼事项。")
    coord = page_client(app, "coord.county")
    listed = coord.get("/matters", params={"state": "completion_reported"}).text
    assert '<option value="completion_reported" selected>' in listed and '<option value="assigned">' in listed
    assert reported["number"] in listed and assigned["number"] not in listed and waiting["number"] not in listed
    dashboard = coord.get("/dashboard").text
    states = dashboard[dashboard.index('id="matter-states"'):]
    for state, text in (("registered", "已登记 1"), ("assigned", "已交办 1"), ("completion_reported", "1")):
        assert f'href="/matters?state={state}" data-state="{state}">' in states and text in states, state
    assert 'data-state="closed"' not in states  # open matters only
    for figure in ("transfer_timeliness", "one_time_resolution", "first_petition_resolution", "repeat_petitions"):
        assert f'data-rate="{figure}"' in dashboard, figure
    assert "转送交办及时率" in dashboard and 'data-legal-excluded="1"' in dashboard
    with db.transaction() as session:  # the figures shown are those of the month: two matters handed over in time
        from vreception.cases import rates

        march = rates.monthly(db=session, month=at(2026, 3, 1).date())
        assert {u.node_id: u.transfer_timeliness.counts for u in march}[org.nodes["county"].id] == {"in_time": 2}
    table = dashboard[dashboard.index('class="list rate-table"'):]
    assert "转送交办及时率</td>\n          <td>2 / 2</td>" in table
