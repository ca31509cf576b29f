"""Attachments at registration (登记附件): the office of the matter attaches the petitioner's materials, bounded in
size and checked by their bytes; its readers list them; each is audited and nothing is stored when refused."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.calls.netns_evidence import pdf_of_colours
from tests.factories import app_settings, login, register
from vreception.models import AuditEvent

MAX = 4096


@pytest.fixture
def settings(db, tmp_path):
    """Uploads above 4 KiB are too large here."""
    return app_settings(db, tmp_path / "var").model_copy(update={"max_upload_bytes": MAX})


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 128, 0)).save(out, format="PNG")
    return out.getvalue()


def _attach(client, headers, matter_id, name, data, content_type="application/pdf"):
    return client.post(f"/api/v1/matters/{matter_id}/attachments", headers=headers,
                       files={"file": (name, data, content_type)})


def _stored(settings, matter_id) -> list[Path]:
    folder = Path(settings.data_dir) / "evidence" / str(matter_id)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_office_attaches_materials_and_readers_list_them(client, org, db, settings):
    matter, headers = register(client, org)
    pdf = pdf_of_colours((1, 0, 0), (0, 0, 1))
    added = _attach(client, headers, matter["id"], "身份证明及合同.pdf", pdf)
    assert added.status_code == 201, added.text
    body = added.json()
    sha = hashlib.sha256(pdf).hexdigest()
    assert body["filename"] == "身份证明及合同.pdf" and body["content_type"] == "application/pdf"
    assert (body["pages"], body["bytes"], body["sha256"]) == (2, len(pdf), sha)
    assert body["item"] == f"upload:{matter['id']}:{sha}"
    assert body["uploaded_by"] == org.people["coord_county"].id
    photo = _attach(client, headers, matter["id"], "现场照片.jpg", png(), "image/jpeg")
    assert photo.status_code == 201 and photo.json()["content_type"] == "image/png"  # by the bytes, not the claim
    # The same file twice is stored and listed once.
    assert _attach(client, headers, matter["id"], "again.pdf", pdf).status_code == 201
    assert [p.read_bytes() == pdf for p in _stored(settings, matter["id"])].count(True) == 1

    leader = login(client, "leader.county")
    listed = client.get(f"/api/v1/matters/{matter['id']}/attachments", headers=leader)
    assert listed.status_code == 200, listed.text
    assert [f["filename"] for f in listed.json()] == ["身份证明及合同.pdf", "现场照片.jpg"]
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.attachment_added",
                                                          AuditEvent.entity_id == str(matter["id"]))
                                 .order_by(AuditEvent.id)).all()  # PostgreSQL returns rows in no set order without it
        assert [json.loads(e.data)["filename"] for e in events] == ["身份证明及合同.pdf", "现场照片.jpg", "again.pdf"]


def test_a_file_too_large_or_not_a_pdf_or_image_is_refused_and_nothing_is_stored(client, org, db, settings):
    matter, headers = register(client, org)
    too_large = _attach(client, headers, matter["id"], "big.pdf", b"%PDF-1.4\n" + b"0" * MAX)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large", too_large.text
    assert str(MAX) in too_large.json()["detail"]
    html = _attach(client, headers, matter["id"], "x.pdf", b"<html><script>alert(1)</script></html>")
    assert html.status_code == 415 and html.json()["code"] == "unsupported_type", html.text
    assert "PDF" in html.json()["detail"]
    empty = _attach(client, headers, matter["id"], "empty.pdf", b"")
    assert empty.status_code == 422, empty.text
    broken = _attach(client, headers, matter["id"], "broken.pdf", b"%PDF-1.4\nnot really")
    assert broken.status_code == 422, broken.text
    assert _stored(settings, matter["id"]) == []
    listed = client.get(f"/api/v1/matters/{matter['id']}/attachments", headers=headers)
    assert listed.json() == []
    with db.transaction() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.attachment_added")).all() == []


def test_only_the_office_of_the_matter_attaches_and_outsiders_do_not_list(client, org, settings):
    matter, headers = register(client, org)
    for username in ("leader.county", "coord.county2"):
        refused = _attach(client, login(client, username), matter["id"], "a.png", png(), "image/png")
        assert refused.status_code == 403, (username, refused.text)
    assert client.get(f"/api/v1/matters/{matter['id']}/attachments",
                      headers=login(client, "coord.county2")).status_code == 403
    assert _attach(client, headers, 999_999, "a.png", png(), "image/png").status_code == 404
    assert _stored(settings, matter["id"]) == []


def test_what_came_with_the_matter_is_listed_and_read_back_by_its_readers_each_read_audited(app, client, org, db,
                                                                                             settings):
    from tests.factories import book_walk_in, page_client
    from vreception import evidence
    from vreception.models import Matter

    walk_in = book_walk_in(client, org)
    matter_id, office = walk_in["matter_id"], login(client, "coord.county")
    pdf = pdf_of_colours((1, 0, 0))
    assert _attach(client, office, matter_id, "劳动合同.pdf", pdf).status_code == 201
    photo = png()
    with db.transaction() as session:  # shown by the petitioner's side during the call
        evidence.store_upload(db=session, matter=session.get(Matter, matter_id), data=photo, max_bytes=MAX,
                              storage_dir=Path(settings.data_dir), actor_id=org.people["room_township"].id,
                              session_id=walk_in["id"], filename="欠条照片.png")
    leader = login(client, "leader.county")
    listed = client.get(f"/api/v1/matters/{matter_id}/attachments", headers=leader).json()
    assert [(m["filename"], m["source"], m["session_id"]) for m in listed] == [
        ("劳动合同.pdf", "registration", None), ("欠条照片.png", "call", walk_in["id"])]
    for material, data in zip(listed, (pdf, photo), strict=True):
        read = client.get(material["url"], headers=leader)
        assert read.status_code == 200 and read.content == data, material
    assert client.get(listed[0]["url"], headers=login(client, "coord.county2")).status_code == 403
    unknown = client.get(f"/api/v1/matters/{matter_id}/attachments/{'0' * 64}", headers=leader)
    assert unknown.status_code == 404
    # The matter page lists both with their links; the page route reads them too.
    coord = page_client(app, "coord.county")
    page = coord.get(f"/matters/{matter_id}").text
    section = page[page.index('id="materials"'):]
    for material in listed:
        assert f'href="/matters/{matter_id}/attachments/{material["sha256"]}"' in section
    assert 'data-source="registration"' in section and 'data-source="call"' in section and "接访中上传" in section
    assert coord.get(f"/matters/{matter_id}/attachments/{listed[1]['sha256']}").content == photo
    with db.transaction() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.material_read")
                                .order_by(AuditEvent.seq)).all()
        assert [(r.actor_id, json.loads(r.data)["source"]) for r in reads] == [
            (org.people["leader_county"].id, "registration"), (org.people["leader_county"].id, "call"),
            (org.people["coord_county"].id, "call")]
