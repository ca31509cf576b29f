"""Searching and exporting matters through the API and the pages: readable rows only, ID numbers masked, bounded,
audited, named in Chinese."""

from __future__ import annotations

import io
import json
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from tests.cases.matter_search_scene import FORMULA_NAME, build_search_scene
from tests.factories import id_number, login, page_client
from vreception.cases import matter_export
from vreception.models import AuditEvent

COLUMNS = ["编号", "登记日期", "信访人", "身份证号", "类别", "渠道", "状态", "办理单位", "办理期限", "是否超期"]


@pytest.fixture
def scene(db, org, settings):
    return build_search_scene(db, org, settings)


def sheet_rows(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content)).active
    return list(sheet.iter_rows(values_only=True))


def exported(db) -> list[dict]:
    with db.transaction() as session:
        return [json.loads(e.data) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "matters.exported").order_by(AuditEvent.id))]


def test_api_search_pages_and_validates(client, org, scene):
    headers = login(client, "coord.county")
    found = client.get("/api/v1/matters", headers=headers, params={"name": "张", "state": ["registered"]}).json()
    assert set(found) == {"items", "total", "next"} and found["total"] == 1
    assert found["items"][0]["id"] == scene.ids["wages"] and found["items"][0]["petitioner"] == "张三"
    both = client.get("/api/v1/matters", headers=headers, params={"state": ["registered", "accepted"], "limit": 2})
    assert both.json()["total"] == 4 and both.json()["next"]
    rest = client.get("/api/v1/matters", headers=headers,
                      params={"state": ["registered", "accepted"], "limit": 2, "cursor": both.json()["next"]}).json()
    assert {i["id"] for i in both.json()["items"] + rest["items"]} == set(scene.county_a) and rest["next"] is None
    found = client.get("/api/v1/matters", headers=headers, params={"id_number": id_number(2)}).json()
    assert [i["id"] for i in found["items"]] == [scene.ids["land"]]
    for params, field in (({"state": "nope"}, "state"), ({"cursor": "garbage!"}, "cursor"),
                          ({"id_number": "123"}, "id_number"), ({"sort": "name"}, "sort"),
                          ({"phone_tail": "12a4"}, "phone_tail"), ({"category": "nonsense"}, "category")):
        bad = client.get("/api/v1/matters", headers=headers, params=params)
        assert bad.status_code == 422 and bad.json()["field"].startswith(field), (params, bad.text)
    assert client.get("/api/v1/matters", headers=headers,
                      params={"node_id": org.nodes["county2"].id}).status_code == 403


def test_xlsx_export_is_readable_rows_masked_and_audited(client, db, org, scene):
    headers = login(client, "coord.county")
    response = client.get("/api/v1/matters/export", headers=headers, params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == matter_export.MEDIA_TYPES["xlsx"]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("信访事项清单_2026")
    rows = sheet_rows(response.content)
    assert rows[0][0] == "信访事项清单" and "共 4 件" in rows[1][0]
    assert list(rows[2]) == COLUMNS
    body = rows[3:]
    assert len(body) == len(scene.county_a) == 4
    numbers = {r[0] for r in body}
    assert "张三丰" not in {r[2] for r in body}  # county B's
    land = next(r for r in body if r[2] == "李四")
    assert land[3] == "*" * 14 + id_number(2)[-4:] and land[4] == "土地征收与补偿" and land[5] == "来访"
    assert land[9] == "是" and {r[9] for r in body if r[2] != "李四"} == {"否"}
    assert all(id_number(n) not in str(r) for r in body for n in (1, 2, 3, 4))
    # A name that looks like a formula stays text (a string cell, never a formula).
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = next(c for row in sheet.iter_rows(min_row=4) for c in row if "HYPERLINK" in str(c.value))
    assert cell.data_type == "s" and str(cell.value).endswith(FORMULA_NAME)
    assert exported(db)[-1] == {"filter": {}, "rows": 4, "format": "xlsx"}
    # The page export takes the same query string.
    pages = page_client(client.app, "coord.county")
    on_page = pages.get("/matters/export.xlsx", params={"name": "张", "state": "registered"})
    assert on_page.status_code == 200 and "filename*=UTF-8''" in on_page.headers["content-disposition"]
    assert [r[2] for r in sheet_rows(on_page.content)[3:]] == ["张三"]
    assert exported(db)[-1] == {"filter": {"name": "张", "state": ["registered"]}, "rows": 1, "format": "xlsx"}
    assert len(numbers) == 4


def test_pdf_export_holds_the_rows(client, db, org, scene):
    pages = page_client(client.app, "coord.county")
    response = pages.get("/matters/export.pdf", params={"channel": "visit"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "共 2 件" in text and "李四" in text and "*" * 14 + id_number(2)[-4:] in text
    assert id_number(2) not in text
    api = client.get("/api/v1/matters/export", headers=login(client, "coord.county"),
                     params={"format": "pdf", "channel": "visit"})
    assert api.status_code == 200 and api.content.startswith(b"%PDF")
    assert [e["rows"] for e in exported(db)] == [2, 2]


def test_export_refusals(client, db, org, scene, monkeypatch):
    handler = login(client, "handler")
    assert client.get("/api/v1/matters/export", headers=handler).status_code == 403
    assert page_client(client.app, "handler").get("/matters/export.xlsx").status_code == 403
    county = login(client, "coord.county")
    bad = client.get("/api/v1/matters/export", headers=county, params={"format": "csv"})
    assert bad.status_code == 422 and bad.json()["field"] == "format"
    bad = client.get("/api/v1/matters/export", headers=county, params={"received_from": "2026-03-02",
                                                                       "received_to": "2026-03-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "received_to"
    monkeypatch.setitem(matter_export.MAX_ROWS, "xlsx", 3)
    large = client.get("/api/v1/matters/export", headers=county)
    assert large.status_code == 422 and large.json()["code"] == "export_too_large"
    assert "4" in large.json()["detail"] and "3" in large.json()["detail"]
    narrowed = client.get("/api/v1/matters/export", headers=county, params={"channel": "visit"})
    assert narrowed.status_code == 200
    assert exported(db) == [{"filter": {"channel": ["visit"]}, "rows": 2, "format": "xlsx"}]


def test_matters_page_searches_pages_and_links_the_petitioner(client, org, scene):
    pages = page_client(client.app, "coord.county")
    response = pages.get("/matters", params={"name": "张", "state": "registered"})
    assert response.status_code == 200
    assert 'data-found-total="1"' in response.text and f'href="/matters/{scene.ids["wages"]}"' in response.text
    assert "/matters/export.xlsx?name=%E5%BC%A0&amp;state=registered" in response.text
    first = pages.get("/matters", params={"state": ["registered", "accepted"]})
    assert 'data-next-page' not in first.text and 'data-found-total="4"' in first.text
    bad = pages.get("/matters", params={"id_number": "123"})
    assert bad.status_code == 422 and 'data-error-field="id_number"' in bad.text
    petitioner = client.get("/api/v1/matters", headers=login(client, "coord.county"),
                            params={"name": "李四"}).json()["items"][0]["petitioner_id"]
    assert f'href="/petitioners/{petitioner}"' in pages.get("/matters", params={"name": "李四"}).text
    history = pages.get(f"/petitioners/{petitioner}")
    assert history.status_code == 200 and f'href="/matters/{scene.ids["land"]}"' in history.text
    other = page_client(client.app, "coord.county2")
    assert other.get(f"/petitioners/{petitioner}").status_code == 404
