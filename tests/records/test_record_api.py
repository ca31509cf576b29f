"""The record over HTTP: entries from the call page and the API, kiosk signatures, errors that write nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.factories import login, page_client, token
from tests.records.helpers import MANIFEST_SHA256, end_call, ended_call, png
from vreception import clock, records
from vreception.cases import public
from vreception.models import AuditEvent, Document, Matter
from vreception.models.records import RecordSignature


def _written(db) -> tuple[int, int]:
    with db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(RecordSignature)),
                s.scalar(select(func.count()).select_from(AuditEvent)))


def _sign(client, headers, session_id, participant_id, data, content_type="image/png"):
    return client.post(f"/api/v1/sessions/{session_id}/record/signatures", headers=headers,
                       data={"participant_id": str(participant_id)},
                       files={"signature": ("signature.png", data, content_type)})


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_record_taken_in_the_call_signed_at_the_kiosk_and_issued(app, client, db, org):
    call = ended_call(db, org)
    leader_page = page_client(app, "leader.county")
    saved = leader_page.post(f"/calls/{call.session}/record", data={"notes": "信访人陈述：拖欠工资三个月。",
                                                                   "csrf_token": token(leader_page)})
    assert saved.status_code == 200, saved.text
    assert saved.json()["url"] == f"/sessions/{call.session}/record" and saved.json()["offset_s"] >= 90
    leader, recorder = login(client, "leader.county"), login(client, "coord.county")
    added = client.post(f"/api/v1/sessions/{call.session}/record", headers=recorder,
                        json={"text": "领导答复：责成人社局十日内核实。"})
    assert added.status_code == 201, added.text
    assert [e["text"][:4] for e in added.json()["entries"]] == ["信访人陈", "领导答复"]
    kiosk = login(client, "room.township")
    assert _sign(client, kiosk, call.session, call.signers["张三"], png()).status_code == 409  # the call still runs
    end_call(db, call)

    clock.travel_to(clock.now() + timedelta(hours=2))
    other = ended_call(db, org, recorder=False)
    before = _written(db)
    outsider = _sign(client, kiosk, call.session, other.signers["张三"], png())
    too_big = _sign(client, kiosk, call.session, call.signers["张三"], png() + b"\0" * records.MAX_SIGNATURE_BYTES)
    not_png = _sign(client, kiosk, call.session, call.signers["张三"], b"GIF89a" + b"\0" * 100, "image/gif")
    by_leader = _sign(client, leader, call.session, call.signers["张三"], png())
    assert (outsider.status_code, outsider.json()["code"]) == (403, "forbidden")
    assert (too_big.status_code, too_big.json()["code"]) == (413, "too_large")
    assert not_png.status_code == 422 and by_leader.status_code == 403
    assert _written(db) == before

    assert _sign(client, kiosk, call.session, call.signers["张三"], png()).status_code == 200
    assert _sign(client, kiosk, call.session, call.signers["李四"], png(shade=5)).status_code == 200
    refused = client.post(f"/api/v1/sessions/{call.session}/record/refusals", headers=kiosk,
                          json={"participant_id": call.signers["王五"], "reason": "不同意第二条"})
    assert refused.json()["waiting_for"] == ["leader", "recorder"]
    assert client.post(f"/api/v1/sessions/{call.session}/record/confirm", headers=kiosk).status_code == 403
    assert client.post(f"/api/v1/sessions/{call.session}/record/confirm", headers=leader).json()["state"] == "signing"
    done = client.post(f"/api/v1/sessions/{call.session}/record/confirm", headers=recorder).json()
    assert done["state"] == "issued" and done["waiting_for"] == []
    assert [(s["name"], s["state"]) for s in done["signers"]] == [("张三", "signed"), ("李四", "signed"),
                                                                  ("王五", "refused")]

    detail = client.get(f"/api/v1/documents/{done['document_id']}", headers=leader).json()
    assert detail["intact"] is True and detail["number"] == done["document_number"]
    pdf = client.get(f"/api/v1/documents/{done['document_id']}.pdf", headers=leader)
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages))
    for needle in ("接谈记录", "张三", "李四", "王五", "拒签", "不同意第二条", "记录人", MANIFEST_SHA256):
        assert needle in text, needle
    matter_page = leader_page.get(f"/matters/{call.matter}")
    assert done["document_number"] in matter_page.text
    with db.transaction() as s:
        matter, document = s.get(Matter, call.matter), s.get(Document, done["document_id"])
        view = public.public_view(matter, db=s, window_days=15)
        assert [d.number for d in view.documents] == [document.number]
        assert public.served_document(matter, document.id, db=s).id == document.id
