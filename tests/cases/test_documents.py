"""Notices: numbered per office, kind and year; stored with their hash; HTML and PDF with real Chinese text."""

from __future__ import annotations

import io

from sqlalchemy import update

from tests.cases.helpers import travel
from tests.factories import act, register
from vreception.models import Document


def test_numbers_hash_and_pdf_text(client, org, db):
    travel(2026, 3, 2)
    first, headers = register(client, org)
    second, _ = register(client, org, headers=headers, serial=2, summary="宅基地被占用", category="land")
    a = act(client, headers, first["id"], "accept")["documents"][0]
    b = act(client, headers, second["id"], "accept")["documents"][0]
    assert a["number"] == "城东区信受〔2026〕1号" and b["number"] == "城东区信受〔2026〕2号"
    meta = client.get(f"/api/v1/documents/{a['id']}", headers=headers).json()
    assert meta["intact"] and len(meta["sha256"]) == 64
    html = client.get(a["html_url"], headers=headers)
    assert "受理告知书" in html.text and "2026年3月2日" in html.text and html.headers["x-document-sha256"] == meta["sha256"]
    pdf = client.get(a["pdf_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "受理告知书" in text and "城东区" in text, text[:200]
    with db.transaction() as session:
        session.execute(update(Document).where(Document.id == a["id"]).values(html=Document.html + "<!-- x -->"))
    assert client.get(f"/api/v1/documents/{a['id']}", headers=headers).json()["intact"] is False


def test_documents_escape_what_users_typed(client, org):
    matter, headers = register(client, org, name="<script>alert(1)</script>")
    m = act(client, headers, matter["id"], "not_accept", reason="<img src=x onerror=alert(1)>")
    html = client.get(m["documents"][0]["html_url"], headers=headers).text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_documents_of_other_subtrees_are_forbidden(client, org):
    matter, headers = register(client, org)
    doc = act(client, headers, matter["id"], "accept")["documents"][0]
    from tests.factories import login

    outsider = login(client, "coord.county2")
    assert client.get(doc["html_url"], headers=outsider).status_code == 403
    assert client.get(doc["pdf_url"], headers=outsider).status_code == 403
