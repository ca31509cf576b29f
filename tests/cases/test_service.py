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
