"""Calendar feed URLs are long-lived, so they can be revoked: a lost phone's subscription ends at once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.factories import login


def _feed(client, headers, path):
    response = client.get(f"/api/v1/calendars/{path}/feed", headers=headers)
    assert response.status_code == 200, response.text
    parts = urlsplit(response.json()["url"])
    return parts.path, parse_qs(parts.query)["token"][0]


def test_revoking_a_leaders_feeds_ends_every_url_handed_out(client, world):
    leader_id = world.org.people["leader_county"].id
    leader = login(client, "leader.county")
    path, token = _feed(client, leader, f"leaders/{leader_id}")
    assert client.get(path, params={"token": token}).status_code == 200
    assert client.post(f"/api/v1/calendars/leaders/{leader_id}/feed/revoke",
                       headers=login(client, "coord.county2")).status_code == 403
    assert client.post(f"/api/v1/calendars/leaders/{leader_id}/feed/revoke", headers=leader).status_code == 204
    refused = client.get(path, params={"token": token})
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    fresh_path, fresh = _feed(client, leader, f"leaders/{leader_id}")
    assert client.get(fresh_path, params={"token": fresh}).status_code == 200


def test_a_rooms_feed_revocation_leaves_other_feeds_alone(client, world):
    org = world.org
    coordinator = login(client, "coord.county")
    room_path, room_token = _feed(client, coordinator, f"rooms/{org.rooms['township'].id}")
    leader_path, leader_token = _feed(client, coordinator, f"leaders/{org.people['leader_county'].id}")
    revoke = client.post(f"/api/v1/calendars/rooms/{org.rooms['township'].id}/feed/revoke", headers=coordinator)
    assert revoke.status_code == 204
    assert client.get(room_path, params={"token": room_token}).status_code == 401
    assert client.get(leader_path, params={"token": leader_token}).status_code == 200
