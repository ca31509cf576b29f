"""The four monthly rates per unit, with the counts behind them."""

from __future__ import annotations

from tests.cases.helpers import travel
from tests.factories import FreshHeaders, act, register


def test_monthly_rates_with_counts(client, org):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    on_time, _ = register(client, org, headers=office, serial=1, summary="事项一")
    late, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    never, _ = register(client, org, headers=office, serial=3, summary="事项三", category="housing")
    travel(2026, 3, 10)
    act(client, office, on_time["id"], "accept")
    travel(2026, 3, 25)  # the acceptance deadline (03-17) has passed
    act(client, office, late["id"], "accept")
    rows = client.get("/api/v1/stats/rates", params={"month": "2026-03"}, headers=office).json()
    assert len(rows) == 1 and rows[0]["node_name"] == "城东区"
    timely = rows[0]["timely_acceptance"]
    assert timely["counts"] == {"in_time": 1, "late": 1, "overdue": 1}
    assert timely["rate"] == round(1 / 3, 4)

    travel(2026, 4, 20)
    act(client, office, on_time["id"], "reply", outcome="support", reason="支持。")
    act(client, office, on_time["id"], "serve")
    client.post(f"/api/v1/public/matters/{on_time['number']}/rating",
                json={"code": on_time["query_code"], "rating": "satisfied"})
    travel(2026, 6, 1)
    may = client.get("/api/v1/stats/rates", params={"month": "2026-05"}, headers=office).json()[0]
    # Handling deadlines in May: on_time (05-09) replied in time; late (05-25) still open and past.
    assert may["on_time_completion"]["counts"] == {"in_time": 1, "overdue": 1}
    # The rating was given on 04-20 (its window ends 05-20): it counts in April only (rates.py docstring).
    assert may["participation"]["denominator"] == 0 and may["satisfaction"]["rate"] is None
    april = client.get("/api/v1/stats/rates", params={"month": "2026-04"}, headers=office).json()[0]
    assert april["participation"]["rate"] == 1.0 and april["satisfaction"]["rate"] == 1.0
    assert may["one_time_resolution"]["counts"] == {"no_review": 1}
    assert client.get("/api/v1/stats/rates", params={"month": "2026-13"}, headers=office).status_code == 422
    outsider = FreshHeaders(client, "coord.county2")
    assert client.get("/api/v1/stats/rates", params={"month": "2026-03"}, headers=outsider).json() == []
