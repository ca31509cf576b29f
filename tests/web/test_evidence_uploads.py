"""Evidence in the call (证据展示) through the call page's routes: uploads are bounded in size and checked by their
bytes, a file of another matter is refused, and nothing is stored when a file is refused."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.calls.netns_evidence import pdf_of_colours
from tests.factories import add_attachment, add_task, app_settings, book_walk_in, csrf_of, login, page_client, register
from vreception import clock
from vreception.models import AuditEvent, Matter

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


@pytest.fixture
def call(app, client, org):
    session = book_walk_in(client, org)
    leader = page_client(app, "leader.county")
    token = csrf_of(leader.get(f"/calls/{session['id']}").text)
    return session, leader, token


def upload(page, session, token, name, data, content_type="application/pdf"):
    return page.post(f"/calls/{session['id']}/evidence/upload", files={"file": (name, data, content_type)},
                     data={"csrf_token": token}, headers={"x-csrf-token": token, "accept": "application/json"})


def prepare(page, session, token, item):
    return page.post(f"/calls/{session['id']}/evidence", data={"item": item, "csrf_token": token},
                     headers={"x-csrf-token": token, "accept": "application/json"})


def stored(settings, db) -> tuple[list[str], list[str]]:
    """The files under the evidence directory and the evidence audit rows."""
    root = settings.data_dir / "evidence"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    with db.transaction() as s:
        rows = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(["matter.evidence_uploaded", "call.evidence_prepared"]))))
    return files, rows


def test_a_bad_upload_gets_a_clear_error_and_nothing_is_stored(call, settings, db):
    session, leader, token = call
    too_large = upload(leader, session, token, "big.pdf", b"%PDF-1.4\n" + b"0" * MAX)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large", too_large.text
    assert str(MAX) in too_large.json()["detail"]
    wrong_type = upload(leader, session, token, "note.pdf", b"just text, named like a PDF")
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "file", wrong_type.text
    assert "PDF" in wrong_type.json()["detail"]
    html = upload(leader, session, token, "page.png", b"<html><script>alert(1)</script>", "image/png")
    assert html.status_code == 422
    broken = upload(leader, session, token, "broken.pdf", b"%PDF-1.4\nnot really a pdf")
    assert broken.status_code == 422, broken.text
    assert stored(settings, db) == ([], [])


def test_a_file_of_another_matter_is_refused(client, org, call, settings, db):
    session, leader, token = call
    other, _ = register(client, org, headers=login(client, "coord.county"), serial=2, name="李四")
    with db.transaction() as s:
        task = add_task(s, org, s.get(Matter, other["id"]), title="核实", due_at=clock.now() + timedelta(days=5))
        attachment = add_attachment(s, org, settings, task, filename="other.pdf", content_type="application/pdf",
                                    data=pdf_of_colours((1, 0, 0)))
        attachment_id = attachment.id
    before = stored(settings, db)
    for item in (f"att:{attachment_id}", f"upload:{other['id']}:" + "a" * 64):
        refused = prepare(leader, session, token, item)
        assert refused.status_code == 403, (item, refused.text)
    # the page of another matter's file is not served either
    page = leader.get(f"/calls/{session['id']}/evidence/page", params={"item": f"att:{attachment_id}", "page": 1})
    assert page.status_code == 404
    assert stored(settings, db) == before


def test_an_upload_is_shown_page_by_page_to_the_room(app, call, settings, db):
    session, leader, token = call
    room = page_client(app, "room.township")
    pdf = upload(leader, session, token, "现场材料.pdf", pdf_of_colours((1, 0, 0), (0, 0, 1)))
    assert pdf.status_code == 201, pdf.text
    body = pdf.json()
    assert body["pages"] == 2 and body["content_type"] == "application/pdf"
    assert body["item"].startswith(f"upload:{session['matter_id']}:")
    url = f"/calls/{session['id']}/evidence/page"
    for number, colour in ((1, (255, 0, 0)), (2, (0, 0, 255))):
        page = room.get(url, params={"item": body["item"], "page": number})
        assert page.status_code == 200 and page.headers["content-type"] == "image/png"
        assert page.headers["x-content-type-options"] == "nosniff"
        from PIL import Image

        image = Image.open(io.BytesIO(page.content)).convert("RGB")
        assert image.getpixel((image.width // 2, image.height // 2)) == colour
    assert room.get(url, params={"item": body["item"], "page": 3}).status_code == 404
    picture = upload(leader, session, token, "photo.png", png(), "application/octet-stream")
    assert picture.status_code == 201 and picture.json()["pages"] == 1
    shown = room.get(url, params={"item": picture.json()["item"], "page": 1})
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png" and shown.content == png()
    files, rows = stored(settings, db)
    assert len(files) == 2 and rows.count("matter.evidence_uploaded") == 2
    with db.transaction() as s:
        audited = [json.loads(e.data) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "matter.evidence_uploaded").order_by(AuditEvent.seq))]
    assert audited[0]["pages"] == 2 and audited[0]["session_id"] == session["id"]


def test_the_room_uploads_but_does_not_open_the_matters_files(app, call, settings):
    session, _, _ = call
    room = page_client(app, "room.township")
    token = csrf_of(room.get(f"/calls/{session['id']}").text)
    assert room.get(f"/calls/{session['id']}/evidence").json() == {"may_show": False, "may_upload": True, "items": []}
    assert upload(room, session, token, "paper.png", png(), "image/png").status_code == 201
    assert prepare(room, session, token, "doc:1").status_code == 403


def test_the_picker_offers_the_matters_materials_and_earlier_uploads_once_each(app, client, call, settings):
    session, leader, token = call
    headers = login(client, "coord.county")
    attached = client.post(f"/api/v1/matters/{session['matter_id']}/attachments", headers=headers,
                           files={"file": ("登记材料.pdf", pdf_of_colours((0, 1, 0)), "application/pdf")})
    assert attached.status_code == 201, attached.text
    uploaded = upload(leader, session, token, "现场材料.png", png(), "image/png")
    assert uploaded.status_code == 201, uploaded.text
    again = upload(leader, session, token, "又一次.png", png(), "image/png")  # the same file twice: listed once
    assert again.status_code == 201, again.text
    items = leader.get(f"/calls/{session['id']}/evidence").json()["items"]
    titles = {item["title"]: item["item"] for item in items}
    assert "登记材料.pdf" in titles and "现场材料.png" in titles and "又一次.png" not in titles
    for item in (titles["登记材料.pdf"], titles["现场材料.png"]):
        shown = prepare(leader, session, token, item)
        assert shown.status_code == 200, (item, shown.text)
    page = leader.get(f"/calls/{session['id']}/evidence/page", params={"item": titles["登记材料.pdf"], "page": 1})
    from PIL import Image

    image = Image.open(io.BytesIO(page.content)).convert("RGB")
    assert image.getpixel((image.width // 2, image.height // 2)) == (0, 255, 0)
