"""The petitioner's lookup by number and query code, rate-limited, and the rating within its window."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.cases.helpers import at, travel
from tests.factories import act, make_matter, register
from vreception import clock
from vreception.cases import public
from vreception.cases.identity import Protector
from vreception.errors import NotFound
from vreception.models import Matter
from vreception.ratelimit import MemoryFailures


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
        wrong = client.get(f"/api/v1/public/matters/{matter['number']}", params={"code": "WRONGCODE1"})
        assert wrong.status_code == 404
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


def test_the_domain_lookup_counts_failures_per_client_and_never_locks_the_petitioner_out(db, org):
    protector, failures = Protector("t" * 48), MemoryFailures(2, 60)
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"])
    with db.transaction() as session:
        matter = session.get(Matter, matter_id)
        matter.query_code_hash = protector.lookup_hash("RIGHT12345")
        number = matter.number

    def find(code, client="10.0.0.1", of=number):
        with db.transaction() as session:
            return public.find_matter(db=session, protector=protector, failures=failures, number=of, code=code,
                                      client=client).id

    assert find("right 12345 ") == matter_id  # any case, spaces anywhere
    assert find("RIGHT12345") == matter_id  # right codes take their attempt back
    for _ in range(2):
        with pytest.raises(NotFound):
            find("WRONG00000", client="10.0.0.9")
    with pytest.raises(public.RateLimited):  # two failures from this client, on any number, even a right code
        find("RIGHT12345", client="10.0.0.9", of=number)
    # The guesser cannot lock the petitioner out of their own matter.
    assert find("RIGHT12345", client="10.0.0.1") == matter_id


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_concurrent_guesses_cannot_slip_past_the_count(store):
    import threading
    import uuid

    from vreception.ratelimit import RedisFailures

    failures = (MemoryFailures(5, 60) if store == "memory"
                else RedisFailures("redis://127.0.0.1:6379/0", 5, 60, prefix=f"test:{uuid.uuid4().hex}:"))
    start, allowed = threading.Barrier(60), []

    def guess() -> None:
        start.wait()
        allowed.append(failures.attempt("client:10.0.0.7"))

    threads = [threading.Thread(target=guess) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


def test_the_public_view_is_a_typed_read_model_without_personal_data(db, org):
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"],
                            deadlines=[("acceptance", date(2026, 3, 17)), ("remit_objection", date(2026, 3, 9))])
    with db.transaction() as session:
        view = public.public_view(session.get(Matter, matter_id), db=session, window_days=30)
    assert isinstance(view, public.PublicView)
    assert list(view.deadlines) == ["acceptance"] and view.deadlines["acceptance"].due == date(2026, 3, 17)
    assert view.documents == [] and view.served_on is None and not view.can_rate
    assert set(view.model_dump()) == {"number", "state", "received_on", "accepted_on", "served_on", "deadlines",
                                      "documents", "rating", "can_rate"}
