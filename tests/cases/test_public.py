"""The petitioner's lookup by number and query code, rate-limited, and the rating within its window."""

from __future__ import annotations

from datetime import timedelta

from tests.cases.helpers import act, at, register, travel
from vreception import clock


def _served(client, org):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    act(client, office, matter["id"], "accept")
    act(client, office, matter["id"], "reply", outcome="support", reason="支持你的诉求，已责令支付。")
    act(client, office, matter["id"], "serve")
    return matter, office


def test_lookup_shows_state_dates_and_served_documents_only(client, org):
    matter, office = _served(client, org)
    view = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": matter["query_code"]})
    assert view.status_code == 200
    body = view.json()
    assert body["state"] == "served" and body["received_on"] == "2026-03-02" and body["can_rate"]
    assert [d["kind"] for d in body["documents"]] == ["reply_opinion"]  # the acceptance notice was not served
    flat = str(body)
    assert "张三" not in flat and "1380013" not in flat and "id_number" not in flat and "timeline" not in flat
    doc = client.get(f"/api/v1/public/matters/{matter['number']}/documents/{body['documents'][0]['id']}",
                     params={"code": matter["query_code"]})
    assert "信访处理意见书" in doc.text


def test_wrong_code_and_missing_number_are_the_same_404(client, org):
    matter, _ = register(client, org)
    wrong = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": "AAAAAAAAAA"})
    missing = client.get("/api/v1/public/matters/580102-2026-99999", params={"code": matter["query_code"]})
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == missing.json()
    lower = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": matter["query_code"].lower()})
    assert lower.status_code == 200


def test_guessing_is_rate_limited_even_with_the_right_code_afterwards(client, org, settings):
    matter, _ = register(client, org)
    for _ in range(settings.lookup_failures_allowed):
        assert client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": "WRONGCODE1"}).status_code == 404
    blocked = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": matter["query_code"]})
    assert blocked.status_code == 429 and blocked.json()["code"] == "rate_limited"


def test_rating_once_within_the_window(client, org, settings):
    matter, office = _served(client, org)
    url = f"/api/v1/public/matters/{matter['number']}/rating"
    bad = client.post(url, json={"code": matter["query_code"], "rating": "ecstatic"})
    assert bad.status_code == 422
    ok = client.post(url, json={"code": matter["query_code"], "rating": "basically_satisfied"})
    assert ok.status_code == 200 and ok.json()["rating"] == "basically_satisfied" and not ok.json()["can_rate"]
    again = client.post(url, json={"code": matter["query_code"], "rating": "satisfied"})
    assert again.status_code == 409
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=office).json()["rating"] == "basically_satisfied"


def test_rating_after_the_window_is_closed(client, org, settings):
    matter, _ = _served(client, org)
    clock.travel_to(at(2026, 3, 2) + timedelta(days=settings.rating_window_days, hours=1))
    late = client.post(f"/api/v1/public/matters/{matter['number']}/rating",
                       json={"code": matter["query_code"], "rating": "satisfied"})
    assert late.status_code == 422 and late.json()["code"] == "window_closed"


def test_rating_before_a_reply_is_served_is_refused(client, org):
    matter, _ = register(client, org)
    early = client.post(f"/api/v1/public/matters/{matter['number']}/rating",
                        json={"code": matter["query_code"], "rating": "satisfied"})
    assert early.status_code == 422 and early.json()["code"] == "window_closed"
