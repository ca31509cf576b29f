"""Every notice is served (method, date, proof of service) and then visible in the public lookup."""

from __future__ import annotations

import base64

from tests.cases.helpers import at, travel
from tests.factories import act, register

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _lookup(client, matter, code):
    response = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": code})
    assert response.status_code == 200, response.text
    return response.json()


def test_acceptance_notice_is_served_by_mail_with_a_proof_and_shown_in_the_lookup(client, org, db):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    m = act(client, headers, matter["id"], "accept")
    notice = m["documents"][0]
    travel(2026, 3, 4)
    act(client, headers, matter["id"], "serve_notice", expect=422, document_id=notice["id"], method="pigeon")
    act(client, headers, matter["id"], "serve_notice", expect=422, document_id=notice["id"], method="mail",
        proof=base64.b64encode(b"not an image").decode(), proof_source="scan")
    m = act(client, headers, matter["id"], "serve_notice", document_id=notice["id"], method="mail",
            served_at=at(2026, 3, 3).isoformat(), proof=base64.b64encode(PNG).decode(), proof_source="scan")
    assert m["state"] == "accepted" and m["documents"][0]["served_at"].startswith("2026-03-03")
    from vreception.models import Document

    with db.transaction() as session:
        served = session.get(Document, notice["id"])
        assert (served.served_method, served.proof_type, served.proof_source) == ("mail", "image/png", "scan")
    act(client, headers, matter["id"], "serve_notice", expect=409, document_id=notice["id"], method="direct")
    view = _lookup(client, matter, matter["query_code"])
    assert [d["kind"] for d in view["documents"]] == ["acceptance_notice"]


def test_rejection_notice_is_served_after_the_matter_closed(client, org):
    matter, headers = register(client, org)
    m = act(client, headers, matter["id"], "not_accept", reason="不属于信访事项。")
    m = act(client, headers, matter["id"], "serve_notice", document_id=m["documents"][0]["id"], method="electronic")
    assert m["state"] == "closed" and m["documents"][0]["served_at"]
    assert [d["kind"] for d in _lookup(client, matter, matter["query_code"])["documents"]] == ["rejection_notice"]


def test_legal_channel_and_settlement_issue_their_own_documents(client, org):
    matter, headers = register(client, org, summary="不服县法院一审判决", category="court_judgment")
    m = act(client, headers, matter["id"], "route_legal", channel="litigation", reason="属诉讼事项。")
    assert m["documents"][-1]["kind"] == "legal_channel_notice"
    assert "导入诉讼程序" in client.get(m["documents"][-1]["html_url"], headers=headers).text
    other, _ = register(client, org, headers=headers, serial=2, summary="邻里纠纷")
    act(client, headers, other["id"], "accept")
    m = act(client, headers, other["id"], "settle", kind="mediation", reason="双方同意各让一步。")
    assert m["documents"][-1]["kind"] == "mediation_agreement"


def test_acceptance_notice_issued_after_the_15_days_misses_the_deadline(client, org):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    travel(2026, 3, 18)  # due 03-17
    m = act(client, headers, matter["id"], "accept")
    assert m["deadlines"]["acceptance"]["state"] == "missed"
    assert m["documents"][0]["issued_at"].startswith("2026-03-18")


def test_a_proof_of_service_is_read_by_the_matters_readers_and_each_read_audited(app, client, org, db):
    from sqlalchemy import select

    from tests.factories import login, page_client
    from vreception.models import AuditEvent

    travel(2026, 3, 2)
    matter, headers = register(client, org)
    m = act(client, headers, matter["id"], "accept")
    notice = m["documents"][0]
    m = act(client, headers, matter["id"], "serve_notice", document_id=notice["id"], method="mail",
            proof=base64.b64encode(PNG).decode(), proof_source="scan")
    url = m["documents"][0]["proof_url"]
    assert url == f"/api/v1/documents/{notice['id']}/proof"
    leader = login(client, "leader.county")
    read = client.get(url, headers=leader)
    assert read.status_code == 200 and read.content == PNG
    assert read.headers["content-type"] == "image/png" and read.headers["x-content-type-options"] == "nosniff"
    assert client.get(url, headers=login(client, "coord.county2")).status_code == 403
    unserved = act(client, headers, matter["id"], "extend", days=5, reason="需调查",
                   approved_by=org.people["leader_county"].id)["documents"][-1]
    assert unserved["proof_url"] is None
    missing = client.get(f"/api/v1/documents/{unserved['id']}/proof", headers=headers)
    assert missing.status_code == 404 and "送达回证" in client.get(
        f"/api/v1/documents/{unserved['id']}/proof?lang=zh-CN", headers=headers).json()["detail"]
    # The matter page links it; the page route gives the same bytes.
    coord = page_client(app, "coord.county")
    assert f'href="/documents/{notice["id"]}/proof" data-proof="scan"' in coord.get(f"/matters/{matter['id']}").text
    assert coord.get(f"/documents/{notice['id']}/proof").content == PNG
    with db.transaction() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.proof_read")).all()
        assert [r.actor_id for r in reads] == [org.people["leader_county"].id, org.people["coord_county"].id]


def test_the_signature_drawn_on_the_terminal_is_the_proof_of_the_signed_record(client, org, db):
    from tests.factories import login
    from tests.records.helpers import end_call, ended_call, png
    from vreception import records
    from vreception.models import Document
    from vreception.models.scheduling import ReceptionSession

    call = ended_call(db, org)
    with db.transaction() as session:
        records.add_entry(db=session, booking=session.get(ReceptionSession, call.session), text="信访人陈述：拖欠工资。",
                          actor_id=call.leader)
    end_call(db, call)
    representative = png(shade=9)
    with db.transaction() as session:
        booking = session.get(ReceptionSession, call.session)
        # The petitioner refuses; a representative signs: the first signature of the petitioner's side is the proof.
        records.refuse(db=session, booking=booking, participant_id=call.signers["张三"], reason="有异议", actor_id=None)
        records.sign(db=session, booking=booking, participant_id=call.signers["李四"], png=representative, actor_id=None)
        records.sign(db=session, booking=booking, participant_id=call.signers["王五"], png=png(shade=3), actor_id=None)
        records.confirm(db=session, booking=booking, person_id=call.leader)
        records.confirm(db=session, booking=booking, person_id=call.recorder)
        document = session.get(Document, records.record_of(booking, db=session).document_id)
        assert (document.served_method, document.proof_source) == ("direct", "terminal_signature")
        document_id = document.id
    read = client.get(f"/api/v1/documents/{document_id}/proof", headers=login(client, "coord.county"))
    assert read.status_code == 200 and read.content == representative


def test_every_kind_of_notice_is_served_then_shown_in_the_lookup_with_the_same_query_code(client, org, db):
    from tests.factories import FreshHeaders, extend_org

    extend_org(db, org)
    travel(2026, 3, 2)
    handled, county = register(client, org, serial=1, summary="事项一")
    act(client, county, handled["id"], "accept")
    act(client, county, handled["id"], "extend", days=10, reason="需调查", approved_by=org.people["leader_county"].id)
    act(client, county, handled["id"], "settle", kind="settlement", reason="双方和解。")
    moved, _ = register(client, org, headers=county, serial=2, summary="事项二", category="land")
    act(client, county, moved["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    west = FreshHeaders(client, "coord.county2")
    act(client, west, moved["id"], "assign", to_node_id=org.nodes["county2_dept"].id, days=10, reason="请办理。")
    act(client, FreshHeaders(client, "handler.county2"), moved["id"], "report_completion", reason="已办结。")
    travel(2026, 3, 6)
    expected = {handled["id"]: ["acceptance_notice", "extension_notice", "settlement_agreement"],
                moved["id"]: ["transfer_notice", "assignment_letter", "completion_report"]}
    for matter, headers in ((handled, county), (moved, west)):
        documents = client.get(f"/api/v1/matters/{matter['id']}", headers=headers).json()["documents"]
        assert [d["kind"] for d in documents] == expected[matter["id"]]
        assert _lookup(client, matter, matter["query_code"])["documents"] == []  # nothing served yet
        for document in documents:
            act(client, headers, matter["id"], "serve_notice", document_id=document["id"], method="direct")
        # The number and the query code stay the same through 转送 and 交办.
        shown = _lookup(client, matter, matter["query_code"])
        assert [d["kind"] for d in shown["documents"]] == expected[matter["id"]]
        assert all(d["served_on"] == "2026-03-06" for d in shown["documents"])
