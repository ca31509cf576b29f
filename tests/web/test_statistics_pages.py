"""The statistics pages over HTTP: the range page with its ranking and SVG charts (escaped), the bulletin and its
PDF, the Excel and PDF exports (read back, audited), the JSON summary and trend, who may read and bad ranges."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from tests.cases.statistics_scene import build
from tests.factories import FreshHeaders, page_client
from vreception import clock
from vreception.models import AuditEvent, Node

RANGE = {"from": "2026-03", "to": "2026-04"}


@pytest.fixture
def scene(db, org):
    return build(db, org)


def _rename(db, node, name: str) -> None:
    with db.transaction() as s:
        s.get(Node, node.id).name = name


def test_statistics_page_ranks_the_cities_children_and_draws_escaped_charts(app, db, scene):
    _rename(db, scene.nodes["city"], '岚州<script>alert("x")</script>市')
    browser = page_client(app, "coord.province")
    page = browser.get("/statistics", params=RANGE)
    assert page.status_code == 200, page.text
    assert "2026-03 至 2026-04" in page.text and "青岚省 信访工作统计" in page.text
    ranking = re.search(r"<table[^>]*data-ranking.*?</table>", page.text, re.S).group(0)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in ranking and "<script>alert" not in page.text
    # Two charts, each an accessible inline SVG with a title; the bars hold 12 months.
    charts = re.findall(r'<svg viewBox[^>]*role="img" aria-labelledby="([\w-]+)-title"', page.text)
    assert charts == ["trend-rates", "trend-registered"]
    assert '<title id="trend-rates-title">青岚省 近 12 个月按期办结率与满意率趋势</title>' in page.text
    assert page.text.count("data-bar>") == 12 and "<polyline" in page.text
    assert "2026-04 登记 1 件" in page.text  # a bar's own title
    # The headline: 3 sessions / 6 persons; 1 of 3 on time.
    assert "3 批 / 6 人次" in page.text and "1 / 3" in page.text


def test_drilling_down_and_sorting(app, db, scene):
    browser = page_client(app, "coord.province")
    city = browser.get("/statistics", params={**RANGE, "node_id": scene.nodes["city"].id, "sort": "overdue"})
    rows = re.findall(r'<tr data-child="(\d+)"><td>([^<]*)</td>', city.text)
    assert rows == [(str(scene.nodes["county2"].id), "1"), (str(scene.nodes["county"].id), "2")]
    assert 'aria-sort="descending" class="sorted">逾期未办结' in city.text
    outsider = page_client(app, "coord.county2")
    assert outsider.get("/statistics", params={"node_id": scene.nodes["county"].id}).status_code == 403
    assert outsider.get("/statistics", params={"from": "2026-05", "to": "2026-03"}).status_code == 422
    assert outsider.get("/statistics", params={"from": "2024-01", "to": "2026-03"}).status_code == 422
    assert outsider.get("/statistics", params={"sort": "nope"}).status_code == 422
    assert page_client(app, "handler").get("/statistics").status_code == 403


def test_bulletin_page_and_pdf(app, db, scene):
    browser = page_client(app, "coord.province")
    city = scene.nodes["city"].id
    bulletin = browser.get("/statistics/bulletin", params={"month": "2026-04", "node_id": city})
    assert bulletin.status_code == 200
    text = bulletin.text
    assert "关于2026年4月全辖区信访工作情况的通报" in text and "/static/statistics.css" in text
    assert re.search(r"data-bulletin-overdue>截至月末，以下单位存在逾期未办结事项：城东区（1 件）", text)
    assert "各级领导通过视频接待群众2批3人次" in text  # April: one of the county leader, one of the city leader
    pdf = browser.get("/statistics/bulletin.pdf", params={"month": "2026-04", "node_id": city})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "信访工作情况的通报" in words and "城东区" in words
    with db.transaction() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "statistics.exported")))
    assert [e.entity_id for e in events] == [str(city)] and '"bulletin_pdf"' in events[0].data


def test_xlsx_and_pdf_exports_are_read_back_and_audited(app, db, scene):
    browser = page_client(app, "coord.province")
    params = {**RANGE, "node_id": scene.nodes["city"].id}
    response = browser.get("/statistics/export.xlsx", params=params)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[2]
    assert header[:2] == ["排名", "单位"] and "按期办结率" in header
    rows = {row[1]: dict(zip(header, row, strict=True)) for row in values[3:]}
    assert rows["城东区"]["按期办结率"] == "50.0%" and rows["城东区"]["接访批次"] == 2
    assert rows["城西区"]["逾期未办结"] == 0 and rows["岚州市（合计）"]["接访人次"] == 6
    pdf = browser.get("/statistics/export.pdf", params=params)
    assert pdf.content.startswith(b"%PDF")
    assert "城东区" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    with db.transaction() as s:
        formats = [e.data for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "statistics.exported")
                                             .order_by(AuditEvent.seq))]
    assert len(formats) == 2 and '"xlsx"' in formats[0] and '"2026-03"' in formats[0] and '"pdf"' in formats[1]


def test_summary_and_trend_api(client, scene):
    headers = FreshHeaders(client, "coord.province")
    summary = client.get("/api/v1/stats/summary", params={**RANGE, "node_id": scene.nodes["city"].id},
                         headers=headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["figures"]["on_time_completion"] == {"rate": 0.3333, "numerator": 1, "denominator": 3}
    assert body["sessions"]["held"] == 3 and body["by_channel"] == {"video": 3}
    assert [c["node_name"] for c in body["children"]] == ["城东区", "城西区"]
    default = client.get("/api/v1/stats/summary", params=RANGE, headers=headers).json()
    assert default["node_name"] == "青岚省"
    trend = client.get("/api/v1/stats/trend", params={"node_id": scene.nodes["city"].id, "to": "2026-04",
                                                      "months": 3}, headers=headers).json()
    assert [(p["month"], p["registered"], p["held"]) for p in trend["points"]] == [
        ("2026-02", 0, 0), ("2026-03", 2, 1), ("2026-04", 1, 2)]
    outsider = FreshHeaders(client, "coord.county2")
    assert client.get("/api/v1/stats/summary", params={"node_id": scene.nodes["county"].id},
                      headers=outsider).status_code == 403
    bad = client.get("/api/v1/stats/summary", params={"from": "2026-04", "to": "2026-03"}, headers=outsider)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    assert client.get("/api/v1/stats/trend", params={"months": 25}, headers=outsider).status_code == 422


def test_bulletin_defaults_to_the_month_last_ended_and_dates_a_running_month(app, db, scene):
    """On the first of May the bulletin is April's; May's own says as of which day its figures are."""
    clock.travel_to(datetime(2026, 5, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    browser = page_client(app, "coord.province")
    city = scene.nodes["city"].id
    ended = browser.get("/statistics/bulletin", params={"node_id": city})
    assert ended.status_code == 200
    assert "关于2026年4月全辖区信访工作情况的通报" in ended.text and "data-bulletin-running" not in ended.text
    assert "截至月末，以下单位存在逾期未办结事项：城东区（1 件）" in ended.text
    running = browser.get("/statistics/bulletin", params={"node_id": city, "month": "2026-05"})
    assert running.status_code == 200 and "关于2026年5月全辖区信访工作情况的通报" in running.text
    assert "本月尚未结束，以下数据统计至5月1日" in running.text
    assert "2026年5月以来（截至5月1日）" in running.text and "截至月末" not in running.text
