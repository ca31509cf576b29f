"""GET /api/v1/plans by leader and by office (the office filter was a 500 after a rename slip), a page at a time
(issue 10: the list was cut at 500 plans without a word)."""

from __future__ import annotations

from tests.factories import login


def test_plans_are_listed_by_office_and_by_leader(client, world):
    org = world.org
    headers = login(client, "coord.county")
    by_office = client.get("/api/v1/plans", headers=headers, params={"node_id": org.nodes["county"].id})
    assert by_office.status_code == 200, by_office.text
    assert world.county_plan in {p["id"] for p in by_office.json()["items"]}
    by_leader = client.get("/api/v1/plans", headers=headers, params={"leader_id": org.people["leader_county"].id})
    assert by_leader.status_code == 200 and world.county_plan in {p["id"] for p in by_leader.json()["items"]}


def test_plans_come_a_page_at_a_time_and_none_is_lost(client, world):
    org = world.org
    headers = login(client, "coord.county")
    for weekday in (0, 1, 3):
        body = {"kind": "weekly", "leader_ids": [org.people["leader_county"].id], "weekday": weekday,
                "half": "afternoon", "room_ids": [org.rooms["county"].id], "valid_from": "2026-01-01"}
        assert client.post("/api/v1/plans", headers=headers, json=body).status_code == 201
    query = {"leader_id": org.people["leader_county"].id, "limit": 2}
    first = client.get("/api/v1/plans", headers=headers, params=query).json()
    assert len(first["items"]) == 2 and first["total"] >= 4 and first["next"]
    seen, cursor = [p["id"] for p in first["items"]], first["next"]
    while cursor:
        following = client.get("/api/v1/plans", headers=headers, params={**query, "cursor": cursor}).json()
        seen += [p["id"] for p in following["items"]]
        cursor = following["next"]
    assert len(seen) == len(set(seen)) == first["total"] and world.county_plan in seen
    assert client.get("/api/v1/plans", headers=headers, params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/plans", headers=headers, params={"cursor": "x"}).json()["code"] == "invalid"
