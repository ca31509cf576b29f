"""The audit log page: filters, local times, links, subtree scoping, paging and the 校验审计链 button."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.factories import csrf_of, page_client
from vreception import audit
from vreception.models import AuditEvent

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _record(db, org, who, action="matter.accepted", kind="matter", oid="7"):
    with db.transaction() as session:
        event = audit.record(db=session, action=action, entity_type=kind, entity_id=oid, actor_id=org.people[who].id)
        return event.seq, event.at


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', html)]


def test_the_log_shows_local_times_actors_links_and_nodes(client, org, db):
    seq, at = _record(db, org, "leader_county")
    browser = page_client(client.app, "admin")
    page = browser.get("/admin/audit")
    assert page.status_code == 200 and "审计日志" in page.text
    row = re.search(rf'<tr data-seq="{seq}">(.*?)</tr>', page.text, re.S).group(1)
    assert at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") in row  # Shanghai, not UTC
    assert "测试leader_county" in row and 'href="/matters/7"' in row and "城东区" in row
    filtered = browser.get("/admin/audit", params={"who": "leader_county", "action": "matter."})
    assert _seqs(filtered.text) == [seq]
    day = at.astimezone(SHANGHAI).date().isoformat()
    assert seq in _seqs(browser.get("/admin/audit", params={"from": day, "to": day}).text)
    assert _seqs(browser.get("/admin/audit", params={"to": "2000-01-01"}).text) == []


def test_a_coordinator_sees_their_subtree_and_no_verify_button(client, org, db):
    mine, _ = _record(db, org, "coord_county")
    other, _ = _record(db, org, "coord_county2")
    browser = page_client(client.app, "coord.county")
    page = browser.get("/admin/audit")
    assert page.status_code == 200
    assert mine in _seqs(page.text) and other not in _seqs(page.text) and "data-verify-form" not in page.text
    refused = browser.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert browser.get("/admin/audit", params={"node_id": org.nodes["county2"].id}).status_code == 403
    assert page_client(client.app, "handler").get("/admin/audit").status_code == 403


def test_next_page_follows_on_without_repeats(client, org, db):
    with db.transaction() as session:
        for i in range(60):
            audit.record(db=session, action="test.bulk", entity_type="thing", entity_id=i,
                         actor_id=org.people["coord_county"].id)
    browser = page_client(client.app, "admin")
    first = browser.get("/admin/audit", params={"action": "test."})
    link = re.search(r'href="([^"]+)" data-next', first.text).group(1).replace("&amp;", "&")
    _record(db, org, "coord_county", action="test.late")  # appended while the reader pages
    second = browser.get(link)
    assert len(_seqs(first.text)) == 50 and len(_seqs(second.text)) == 10
    assert not set(_seqs(first.text)) & set(_seqs(second.text)) and "data-next" not in second.text


def test_the_verify_button_checks_the_chain_and_shows_a_tampered_event(client, org, db):
    browser = page_client(client.app, "admin")
    page = browser.get("/admin/audit")
    assert "校验审计链" in page.text
    done = browser.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and 'data-verify="ok"' in done.text and "审计链完好" in done.text
    again = browser.post("/admin/audit/verify", data={"csrf_token": csrf_of(done.text)})
    # Only what came after the checkpoint is read: the first verify's own audit event.
    assert "从签名检查点" in again.text and "本次校验 1 条记录" in again.text
    with db.transaction() as session:
        target = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        session.execute(update(AuditEvent).where(AuditEvent.seq == target).values(data='{"forged": 1}'))
    broken = browser.post("/admin/audit/verify", data={"csrf_token": csrf_of(again.text), "full": "1"})
    assert 'data-verify="broken"' in broken.text and f'data-broken-at="{target}"' in broken.text
    assert browser.post("/admin/audit/verify", data={}).status_code == 403  # no CSRF token
