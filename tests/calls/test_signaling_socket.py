"""The signaling WebSocket with plain aiortc clients: lobby, admit, media both ways, rejoin, bad input."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from sqlalchemy import select

from signaling.closecodes import CloseCode
from tests.browser import live_server
from tests.calls.helpers import SignalingClient, join_token, wait_for, ws_url
from tests.factories import book_walk_in
from tests.recordings.media_clients import close_to
from vreception.models import AuditEvent
from vreception.models.scheduling import ReceptionSession

pytestmark = pytest.mark.slow



@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_room_waits_leader_admits_media_flows_both_ways(app, client, org, db):
    session = book_walk_in(client, org)
    room_pid, room_token = join_token(client, session, "room", "room.township")
    leader_pid, leader_token = join_token(client, session, "leader", "leader.county")

    async def scenario(base):
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        leader = SignalingClient(ws_url(base, session["id"], leader_token), colour="red")
        try:
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"))
            assert room.of_type("welcome")[0]["session"]["state"] == "open"
            await leader.connect()
            assert await wait_for(lambda: leader.of_type("admitted"))
            await leader.send({"type": "admit", "participant_id": room_pid})
            assert await wait_for(lambda: room.of_type("admitted"))
            assert await wait_for(lambda: close_to(room.received.get("video") and room.received["video"].yuv, "red")
                                  and close_to(leader.received.get("video") and leader.received["video"].yuv, "blue"),
                                  timeout=15)
            assert await wait_for(lambda: room.received.get("audio") and room.received["audio"].frames > 20)
            states = [m["session"]["state"] for m in leader.of_type("state")]
            assert states[-1] == "live"
            await leader.send({"type": "end"})
            assert await wait_for(lambda: room.closed.is_set() and leader.closed.is_set())
            assert room.of_type("bye")[-1]["reason"] == "ended"
        finally:
            await room.close()
            await leader.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))
    with db.transaction() as s:
        assert s.get(ReceptionSession, session["id"]).state.value == "ended"
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions.index("session.open") < actions.index("session.live") < actions.index("session.ended")
    assert "call.participant_admitted" in actions


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_room_drops_and_rejoins_without_the_lobby(app, client, org):
    session = book_walk_in(client, org)
    room_pid, room_token = join_token(client, session, "room", "room.township")
    _, leader_token = join_token(client, session, "leader", "leader.county")

    async def scenario(base):
        leader = SignalingClient(ws_url(base, session["id"], leader_token), colour="red")
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        again = SignalingClient(ws_url(base, session["id"], room_token), colour="green")
        try:
            await leader.connect()
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"))
            await leader.send({"type": "admit", "participant_id": room_pid})
            assert await wait_for(lambda: close_to(leader.received.get("video") and leader.received["video"].yuv, "blue"),
                                  timeout=15)
            await room.close()  # the tab is closed
            await again.connect()
            assert await wait_for(lambda: again.of_type("admitted"))
            assert not again.of_type("lobby")
            assert await wait_for(lambda: close_to(again.received.get("video") and again.received["video"].yuv, "red"),
                                  timeout=15)
            assert await wait_for(lambda: leader.of_type("offer"))  # the server renegotiated the leader's side
        finally:
            for c in (leader, room, again):
                await c.close()

    with live_server(app) as base:
        asyncio.run(scenario(base))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_bad_tokens_wrong_session_and_bad_messages(app, client, org):
    first = book_walk_in(client, org)
    _, token = join_token(client, first, "leader", "leader.county")

    async def close_code(url):
        async with websockets.connect(url) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 5)
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                pass
            await asyncio.wait_for(ws.wait_closed(), 5)
            return ws.close_code, ws.close_reason

    async def scenario(base):
        assert (await close_code(ws_url(base, first["id"], "garbage")))[0] == 4401
        assert (await close_code(ws_url(base, first["id"] + 1000, token)))[0] == 4403
        async with websockets.connect(ws_url(base, first["id"], token)) as ws:
            replies = []
            for raw in ("not json", '{"type": "teleport"}', '{"type": "admit"}', "x" * 70_000):
                await ws.send(raw)
            while len(replies) < 6:
                message = await asyncio.wait_for(ws.recv(), 5)
                if '"error"' in message:
                    replies.append(message)
                if len(replies) == 4:
                    break
            codes = [json.loads(m)["code"] for m in replies]
            assert codes == ["malformed", "unknown_type", "invalid", "too_large"]
            for _ in range(100):  # a flood
                await ws.send('{"type": "ping"}')
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                pass
            assert ws.close_code in (4429, 4400)

    with live_server(app) as base:
        asyncio.run(scenario(base))


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_coordinator_over_the_session_gets_a_seat_on_the_call_page(app, client, org, db):
    import re

    from tests.factories import page_client

    session = book_walk_in(client, org)
    coordinator = page_client(app, "coord.county")
    page = coordinator.get(f"/calls/{session['id']}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert coordinator.post(f"/calls/{session['id']}/token").status_code == 403  # no CSRF header
    ticket = coordinator.post(f"/calls/{session['id']}/token", headers={"X-CSRF-Token": csrf})
    assert ticket.status_code == 200 and f"/ws/sessions/{session['id']}?token=" in ticket.json()["ws_url"]
    with db.transaction() as s:
        seats = [p.role for p in s.get(ReceptionSession, session["id"]).participants]
    assert seats.count("coordinator") == 1
    coordinator.post(f"/calls/{session['id']}/token", headers={"X-CSRF-Token": csrf})
    with db.transaction() as s:
        assert [p.role for p in s.get(ReceptionSession, session["id"]).participants].count("coordinator") == 1
    assert page_client(app, "coord.county2").get(f"/calls/{session['id']}").status_code == 403


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_dashboard_queue_shows_waiting_rooms_in_order_of_arrival(app, client, org):
    from tests.factories import page_client

    session = book_walk_in(client, org)
    _, room_token = join_token(client, session, "room", "room.township")

    async def room_waits(base):
        room = SignalingClient(ws_url(base, session["id"], room_token), colour="blue")
        try:
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"))
        finally:
            await room.close()

    with live_server(app) as base:
        asyncio.run(room_waits(base))
    live = page_client(app, "coord.county").get("/dashboard/live").text
    queue = live[live.index('id="h-queue"'):live.index('id="h-week"')]
    assert f'data-session="{session["id"]}"' in queue and "起等候" in queue


async def _close_of(ws, timeout: float = 10) -> tuple[list[dict], int | None]:
    """Every message WS receives until it is closed, and its close code."""
    received = []
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except websockets.ConnectionClosed:
        pass
    except TimeoutError:
        return received, None  # still open
    return received, ws.close_code


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_second_socket_of_the_same_participant_closes_the_first_with_replaced(app, client, org):
    session = book_walk_in(client, org)
    _, room_token = join_token(client, session, "room", "room.township")

    async def scenario(base):
        url = ws_url(base, session["id"], room_token)
        async with websockets.connect(url) as first:
            assert await wait_for_type(first, "lobby")
            async with websockets.connect(url) as second:
                assert await wait_for_type(second, "lobby")
                received, code = await _close_of(first)
                assert code == CloseCode.REPLACED == 4409
                assert [m["reason"] for m in received if m["type"] == "bye"] == ["replaced"]
                # The newer socket is the participant's now: it is answered.
                await second.send('{"type": "ping"}')
                assert await wait_for_type(second, "pong")

    with live_server(app) as base:
        asyncio.run(scenario(base))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_flood_of_valid_messages_closes_with_rate_limited(app, client, org):
    session = book_walk_in(client, org)
    _, room_token = join_token(client, session, "room", "room.township")

    async def scenario(base):
        async with websockets.connect(ws_url(base, session["id"], room_token)) as ws:
            assert await wait_for_type(ws, "lobby")
            for _ in range(300):  # far past the burst of 40 and 40 ignored `rate_limited` errors
                try:
                    await ws.send('{"type": "ping"}')
                except websockets.ConnectionClosed:
                    break
            received, code = await _close_of(ws)
        assert "rate_limited" in [m.get("code") for m in received if m["type"] == "error"]
        assert code == CloseCode.RATE_LIMITED == 4429

    with live_server(app) as base:
        asyncio.run(scenario(base))


async def wait_for_type(ws, kind: str, timeout: float = 10) -> bool:
    """Read WS until a message of KIND arrives (True) or TIMEOUT passes (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        except (TimeoutError, websockets.ConnectionClosed):
            return False
        if message["type"] == kind:
            return True
    return False
