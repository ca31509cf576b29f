"""GET /api/v1/plans by leader and by office (the office filter was a 500 after a rename slip)."""

from __future__ import annotations

from tests.factories import login


def test_plans_are_listed_by_office_and_by_leader(client, world):
    org = world.org
    headers = login(client, "coord.county")
    by_office = client.get("/api/v1/plans", headers=headers, params={"node_id": org.nodes["county"].id})
    assert by_office.status_code == 200, by_office.text
    assert world.county_plan in {p["id"] for p in by_office.json()}
    by_leader = client.get("/api/v1/plans", headers=headers, params={"leader_id": org.people["leader_county"].id})
    assert by_leader.status_code == 200 and world.county_plan in {p["id"] for p in by_leader.json()}
