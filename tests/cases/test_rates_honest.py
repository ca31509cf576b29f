"""Honest monthly figures: one month per case, the office rated apart from the handling body, legal channels left out,
resolution of first petitions, repeat petitions, and the ranking of units within a parent."""

from __future__ import annotations

from sqlalchemy import event

from tests.cases.helpers import travel
from tests.factories import FreshHeaders, act, extend_org, register
from vreception.cases import rates
from vreception.models import Matter, RepeatLink


def _rates(client, headers, month):
    response = client.get("/api/v1/stats/rates", params={"month": month}, headers=headers)
    assert response.status_code == 200, response.text
    return {row["node_name"]: row for row in response.json()}


def _served(client, office, matter_id):
    act(client, office, matter_id, "accept")
    act(client, office, matter_id, "reply", outcome="support", reason="支持。")
    act(client, office, matter_id, "serve")


def test_a_rating_counts_in_exactly_one_month(client, org):
    travel(2026, 3, 2)
    rated, office = register(client, org, serial=1, summary="事项一")
    unrated, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 5)
    _served(client, office, unrated["id"])  # its rating window ends 04-04
    travel(2026, 3, 20)
    _served(client, office, rated["id"])  # its window ends 04-19
    travel(2026, 3, 25)
    assert client.post(f"/api/v1/public/matters/{rated['number']}/rating",
                       json={"code": rated["query_code"], "rating": "basically_satisfied"}).status_code == 200
    travel(2026, 5, 1)
    march, april = _rates(client, office, "2026-03")["城东区"], _rates(client, office, "2026-04")["城东区"]
    # Rated in March: March only, though its window ended in April. Unrated: the month its window ended.
    assert march["participation"]["counts"] == {"rated": 1} and march["satisfaction"]["rate"] == 1.0
    assert april["participation"]["counts"] == {"unrated": 1} and april["participation"]["rate"] == 0.0
    assert april["satisfaction"]["denominator"] == 0


def test_transfer_and_assignment_rated_on_the_office_apart_from_acceptance(client, org):
    travel(2026, 3, 2)
    transferred, office = register(client, org, serial=1, summary="事项一")
    assigned, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    accepted_late, _ = register(client, org, headers=office, serial=3, summary="事项三", category="housing")
    travel(2026, 3, 10)
    act(client, office, transferred["id"], "transfer", to_node_id=org.nodes["county_dept"].id, reason="属人社部门职责。")
    travel(2026, 3, 20)  # past the 15 days (03-17)
    act(client, office, assigned["id"], "assign", to_node_id=org.nodes["county_dept"].id, days=30,
        reason="请核查办理。")
    act(client, office, accepted_late["id"], "accept")
    march = _rates(client, office, "2026-03")["城东区"]
    assert march["transfer_timeliness"]["counts"] == {"in_time": 1, "late": 1}
    assert march["transfer_timeliness"]["rate"] == 0.5
    # The handling body's own acceptance: only the matter it accepted.
    assert march["timely_acceptance"]["counts"] == {"late": 1}


def test_matters_routed_to_legal_channels_are_left_out(client, org):
    travel(2026, 3, 2)
    legal, office = register(client, org, serial=1, summary="事项一")
    ordinary, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 5)
    act(client, office, legal["id"], "route_legal", channel="litigation", reason="属于诉讼程序。")
    act(client, office, ordinary["id"], "accept")
    march = _rates(client, office, "2026-03")["城东区"]
    assert march["timely_acceptance"]["counts"] == {"in_time": 1}
    assert march["legal_excluded"] == 1


def test_first_petition_resolution_and_repeat_petitions(client, org, db):
    travel(2026, 3, 2)
    came_back, office = register(client, org, serial=1, summary="事项一")
    resolved, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    reviewed, _ = register(client, org, headers=office, serial=3, summary="事项三", category="housing")
    travel(2026, 3, 5)
    for matter in (came_back, resolved, reviewed):
        _served(client, office, matter["id"])  # review windows end 04-04
    travel(2026, 3, 20)
    act(client, office, reviewed["id"], "request_review")
    again, _ = register(client, org, headers=office, serial=4, summary="事项四", category="social_security")
    with db.transaction() as session:  # how a repeat is found is registration's business: the link is what counts
        session.add(RepeatLink(matter_id=again["id"], earlier_id=came_back["id"], similarity=90))
    travel(2026, 4, 10)
    march, april = _rates(client, office, "2026-03")["城东区"], _rates(client, office, "2026-04")["城东区"]
    assert march["repeat_petitions"]["counts"] == {"first": 3, "repeat": 1}
    assert april["one_time_resolution"]["counts"] == {"no_review": 2, "reviewed": 1}
    assert april["first_petition_resolution"]["counts"] == {"resolved": 1, "reviewed": 1, "petitioned_again": 1}
    assert april["first_petition_resolution"]["rate"] == round(1 / 3, 4)


def test_units_ranked_within_their_parent(client, org):
    travel(2026, 3, 2)
    east = FreshHeaders(client, "coord.county")
    west = FreshHeaders(client, "coord.county2")
    late, _ = register(client, org, headers=east, serial=1, summary="事项一")
    in_time, _ = register(client, org, headers=east, serial=2, summary="事项二", category="land")
    west_matter, _ = register(client, org, headers=west, serial=3, summary="事项三", category="housing",
                              origin_node_id=org.nodes["township2"].id, handling_node_id=org.nodes["county2"].id)
    travel(2026, 3, 10)
    act(client, east, in_time["id"], "accept")
    act(client, west, west_matter["id"], "accept")
    travel(2026, 3, 20)
    act(client, east, late["id"], "accept")
    province = FreshHeaders(client, "coord.province")
    response = client.get("/api/v1/stats/ranking", headers=province,
                          params={"month": "2026-03", "parent_id": org.nodes["city"].id, "by": "timely_acceptance"})
    assert response.status_code == 200, response.text
    rows = [(r["node_name"], r["rank"], r["timely_acceptance"]["rate"]) for r in response.json()]
    assert rows == [("城西区", 1, 1.0), ("城东区", 2, 0.5)]
    assert client.get("/api/v1/stats/ranking", headers=east, params={
        "month": "2026-03", "parent_id": org.nodes["city"].id}).status_code == 403
    assert client.get("/api/v1/stats/ranking", headers=province, params={
        "month": "2026-03", "parent_id": org.nodes["city"].id, "by": "speed"}).status_code == 422
    for missing in (999999, 2**63):
        assert client.get("/api/v1/stats/ranking", headers=province, params={
            "month": "2026-03", "parent_id": missing}).status_code in (404, 422)
    # A county's own coordinator ranks its children: the township has no matters, so no place.
    own = client.get("/api/v1/stats/ranking", headers=east, params={
        "month": "2026-03", "parent_id": org.nodes["county"].id}).json()
    assert {r["node_name"]: r["rank"] for r in own}["桃源镇"] is None


def test_rates_are_counted_in_sql_whatever_the_number_of_matters(client, org, db):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    for serial, category in enumerate(("wages", "land", "housing", "social_security"), start=1):
        matter, _ = register(client, org, headers=office, serial=serial, summary=f"事项{serial}", category=category)
        travel(2026, 3, 5)
        _served(client, office, matter["id"])
    statements: list[str] = []
    engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.transaction() as session:
            found = rates.monthly(db=session, month=travel(2026, 4, 10).date(), rating_window_days=30)
            loaded = [obj for obj in session.identity_map.values() if isinstance(obj, Matter)]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert found[0].participation.counts == {"unrated": 4}
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # One grouped query per kind of case (acceptance, handling, review windows, registered, rated, unrated).
    assert loaded == [] and len(selects) == 6 and all("GROUP BY" in s for s in selects)


def test_assignment_completion_periods_count_in_on_time_completion_of_the_assigned_unit(client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    office, unit = FreshHeaders(client, "coord.county"), FreshHeaders(client, "handler")
    dept = org.nodes["county_dept"].id
    in_time, late, silent, sent_back = (
        register(client, org, headers=office, serial=i, summary=f"事项{i}", category=c)[0]
        for i, c in ((1, "wages"), (2, "land"), (3, "housing"), (4, "social_security")))
    for matter in (in_time, late, silent, sent_back):
        act(client, office, matter["id"], "assign", to_node_id=dept, days=10, reason="请核查办理。")  # due 03-12
    travel(2026, 3, 10)
    act(client, unit, in_time["id"], "report_completion", reason="已办结。")
    act(client, office, in_time["id"], "verify_completion")
    act(client, unit, sent_back["id"], "report_completion", reason="已办结。")
    # Sent back without a new day: the report did not complete, the period runs on to its day.
    m = act(client, office, sent_back["id"], "return_completion", reason="未附凭证。")
    assert m["deadlines"]["completion"] == {**m["deadlines"]["completion"], "state": "open", "due": "2026-03-12"}
    travel(2026, 3, 16)
    act(client, unit, late["id"], "report_completion", reason="已办结，超期。")
    march = _rates(client, office, "2026-03")
    assert march["城东区人社局"]["on_time_completion"]["counts"] == {"in_time": 1, "late": 1, "overdue": 2}
    assert march["城东区人社局"]["on_time_completion"]["rate"] == 0.25
    # The office is rated for handing the four over within the 15 days, not for the unit's completion.
    assert march["城东区"]["transfer_timeliness"]["counts"] == {"in_time": 4}
    assert march["城东区"]["on_time_completion"]["denominator"] == 0


def test_a_new_day_set_on_sending_back_replaces_a_period_met_but_not_one_missed(client, org, db):
    extend_org(db, org)
    travel(2026, 3, 2)
    office, unit = FreshHeaders(client, "coord.county"), FreshHeaders(client, "handler")
    early, _ = register(client, org, headers=office, serial=1, summary="事项一")
    tardy, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    for matter in (early, tardy):
        act(client, office, matter["id"], "assign", to_node_id=org.nodes["county_dept"].id, days=10, reason="请办理。")
    travel(2026, 3, 10)
    act(client, unit, early["id"], "report_completion", reason="已办结。")
    travel(2026, 3, 13)  # past 03-12
    act(client, unit, tardy["id"], "report_completion", reason="已办结。")
    for matter in (early, tardy):
        m = act(client, office, matter["id"], "return_completion", reason="请补充材料。", days=5)  # due 03-18
        assert m["deadlines"]["completion"]["due"] == "2026-03-18"
        act(client, unit, matter["id"], "report_completion", reason="已补充。")
    history = {m["id"]: [(d["due"], d["state"]) for d in m["deadline_history"] if d["kind"] == "completion"]
               for m in (client.get(f"/api/v1/matters/{x['id']}", headers=office).json() for x in (early, tardy))}
    assert history[early["id"]] == [("2026-03-12", "cancelled"), ("2026-03-18", "met")]
    assert history[tardy["id"]] == [("2026-03-12", "missed"), ("2026-03-18", "met")]
    counts = _rates(client, office, "2026-03")["城东区人社局"]["on_time_completion"]["counts"]
    assert counts == {"in_time": 2, "late": 1}
