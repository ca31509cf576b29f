"""Every role booking accepts can join its session: the named participant and the leader both get `welcome`."""

from __future__ import annotations

import asyncio

import pytest

from signaling.roles import CAPABILITIES, NAMED_ROLES, SITS_IN_ROOM, can
from tests.browser import live_server
from tests.calls.helpers import SignalingClient, book_walk_in, wait_for, ws_url
from tests.conftest import login

pytestmark = pytest.mark.slow

# Who takes a personal seat of each role in the test organisation (anybody with an account may be named).
PERSON_FOR = {"coordinator": "coord_county", "chair": "leader_city", "recorder": "coord_county2",
              "hearing_member": "hearing", "handler": "handler", "observer": "coord_province",
              "witness": "admin"}


def _spec(org, role: str) -> dict:
    if role in SITS_IN_ROOM:
        return {"role": role, "name": f"{role}某"}
    return {"role": role, "person_id": org.people[PERSON_FOR[role]].id}


def _token(client, session: dict, participant_id: int, username: str) -> str:
    response = client.post(f"/api/v1/sessions/{session['id']}/join", headers=login(client, username),
                           json={"participant_id": participant_id})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_every_named_role_is_either_personal_or_sits_in_a_room():
    assert set(PERSON_FOR) | SITS_IN_ROOM == set(NAMED_ROLES)
    assert not set(PERSON_FOR) & SITS_IN_ROOM
    for role in NAMED_ROLES:
        assert role in CAPABILITIES


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", NAMED_ROLES)
def test_named_role_and_leader_are_welcomed(app, client, org, role):
    session = book_walk_in(client, org, extra_participants=[_spec(org, role)])
    seat = next(p for p in session["participants"] if p["role"] == role)
    leader_seat = next(p for p in session["participants"] if p["role"] == "leader")
    # A name-only seat is taken by the kiosk of the room its person sits in.
    username = "room.township" if role in SITS_IN_ROOM else PERSON_FOR[role].replace("_", ".")
    token = _token(client, session, seat["id"], username)
    leader_token = _token(client, session, leader_seat["id"], "leader.county")

    async def scenario(base):
        named = SignalingClient(ws_url(base, session["id"], token))
        leader = SignalingClient(ws_url(base, session["id"], leader_token))
        try:
            await leader.connect()
            await named.connect()
            assert await wait_for(lambda: named.of_type("welcome") and leader.of_type("welcome"), timeout=5)
            assert named.of_type("welcome")[0]["role"] == role
            assert named.of_type("welcome")[0]["participant_id"] == seat["id"]
            assert leader.of_type("welcome")[0]["role"] == "leader"
            # The named participant appears by name in what the leader sees.
            assert await wait_for(lambda: any(p["id"] == seat["id"] and p["name"] == seat["name"] and p["connected"]
                                              for m in leader.of_type("state") for p in m["participants"]), timeout=5)
            if can(role, "moderate"):
                assert await wait_for(lambda: named.of_type("admitted"), timeout=5)
            else:
                assert await wait_for(lambda: named.of_type("lobby"), timeout=5)
                await leader.send({"type": "admit", "participant_id": seat["id"]})
                assert await wait_for(lambda: named.of_type("admitted"), timeout=5)
        finally:
            await named.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_unknown_role_at_booking_names_the_field(app, client, org):
    headers = login(client, "coord.county")
    from tests.cases.helpers import register

    matter, _ = register(client, org, headers=headers)
    body = {"kind": "reception", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
            "matter_id": matter["id"], "ad_hoc": True, "reason": "群众现场来访",
            "participants": [{"role": "representative", "name": "甲"}, {"role": "spectator", "name": "乙"}]}
    response = client.post("/api/v1/sessions", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "participants.1.role"
    assert client.get("/api/v1/sessions", headers=headers).json()["items"] == []
