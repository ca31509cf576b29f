"""The deployment of issue 17 on one machine (tests/cluster/world.py): nginx with the deploy/ site in front of two web
fronts, two media workers, Redis, S3, coturn and PostgreSQL, each host in a network namespace of its own. One call goes
through all of it, the room's media relayed by coturn, then loses its media worker (kill -9), a front (kill -9) and
Redis (a restart), and its recording still verifies and names what is missing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest

from recordings import manifest as manifests
from tests.calls.helpers import wait_for
from tests.cluster.clients import Away, Elsewhere, FailoverClient
from tests.cluster.topology import FRONT_PORT
from tests.cluster.world import WORKERS, at, book_call, wait_finalised
from vreception.models.recordings import Recording

pytestmark = [pytest.mark.media, pytest.mark.slow]

RESUME_WITHIN_S = 10.0  # the bound: the call resumes within 10 s of losing its worker
MAX_LOST_AT_KILL_S = 1.5  # what the kill itself may cost the recording when the worker's disk remains
FRONT_RESUME_WITHIN_S = 10.0  # a front lost: its participants' pages join again through nginx (call.js retries)
SIGNALING_BACK_WITHIN_S = 10.0  # Redis back: state changes and media signals flow again
MAX_FRONT_GAP_S = 2.0  # what a front's loss may cost a participant's recording (the page's fresh media)


def _accepted(front, session_id: int) -> int:
    """Signaling sockets of SESSION_ID the front accepted (its access log)."""
    return front.output().count(f'"WebSocket /ws/sessions/{session_id}?')


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_call_behind_nginx_survives_losing_a_worker_a_front_and_redis(db, org, world):
    topology, proxy, network = world.topology, world.proxy, world.network
    leaders_front = rooms_front = topology.fronts[0]  # known once the leader's socket is up
    figures: dict[str, float] = {}
    tls = proxy.ssl_context()

    session, (room_pid, room_url, room_ice), (leader_pid, leader_url, _) = book_call(world, org)
    session_id = session["id"]
    # the fronts know they are behind TLS: the join answer's socket is nginx's wss://
    assert leader_url.startswith(f"wss://{network.address('proxy')}/ws/sessions/{session_id}?token="), leader_url
    # the room's answer carries its own TURN credentials for coturn; its host reaches nginx and coturn only
    (relay,) = room_ice
    assert relay["urls"] == [world.turn.url] and relay["username"].endswith(f":{room_pid}"), room_ice
    assert sorted(network.routes("room")) == sorted(f"{network.address(h)} dev eth0 scope link"
                                                    for h in ("proxy", "turn"))
    relayed_by = network.address("turn")
    worker_address = {w: network.address(host) for w, host in WORKERS.items()}

    async def scenario() -> None:
        nonlocal leaders_front, rooms_front
        leader = FailoverClient(leader_url, colour="red", addresses=[network.address("clients")], tls=tls)
        # the township room: its sockets and media on a loop in its own namespace, iceTransportPolicy "relay"
        elsewhere = Elsewhere(network, "room")
        room = Away(FailoverClient(room_url, colour="blue", addresses=[network.address("room")], tls=tls,
                                   ice_servers=room_ice, relay_only=True), elsewhere)
        try:
            # --- 1. through nginx: the leader's socket lands on one front, the room's on the other; both see video
            await leader.connect()
            assert await wait_for(lambda: leader.of_type("welcome"), 10), leader.messages
            leaders_front = next(f for f in topology.fronts if _accepted(f, session_id) == 1)
            rooms_front = next(f for f in topology.fronts if f is not leaders_front)
            await room.connect()
            assert await wait_for(lambda: room.of_type("lobby"), 10), room.messages
            assert (_accepted(leaders_front, session_id), _accepted(rooms_front, session_id)) == (1, 1), \
                "nginx (least_conn) gives the second socket to the front without one"
            await leader.send({"type": "admit", "participant_id": room_pid})
            start = time.monotonic()
            assert await wait_for(lambda: leader.frames_since(start) > 10 and room.frames_since(start) > 10, 30), \
                (leader.messages[-5:], room.messages[-5:])
            figures["first_video_s"] = round(max(leader.first_frame_after(start), room.first_frame_after(start))
                                             - start, 2)
            hosting = topology.placed_on(session_id)
            assert hosting in WORKERS
            other = next(w for w in WORKERS if w != hosting)
            # the room's media goes through coturn's relayed address to the worker (it has no route to the worker)
            kind, local, remote = room.selected_pair()
            assert (kind, local[0], remote[0]) == ("relay", relayed_by, worker_address[hosting]), (kind, local, remote)
            # at least one closed segment each, already in S3
            await asyncio.sleep(topology.segment_seconds + 1.5)
            assert await wait_for(lambda: sum(k.endswith(".webm") for k in world.s3.keys()) >= 2, 10), \
                world.s3.keys()

            # --- 2. kill -9 of the worker holding the call: both see video again on the other one within 10 s
            topology.workers[hosting].kill()
            killed, figures["killed_at"] = time.monotonic(), time.time()
            assert await wait_for(lambda: leader.frames_since(killed + 0.5) > 10 and room.frames_since(killed + 0.5) > 10,
                               RESUME_WITHIN_S + 5), (leader.messages[-5:], room.messages[-5:])
            assert topology.placed_on(session_id) == other
            for name, client in (("leader", leader), ("room", room)):
                back = client.first_frame_after(killed + 0.5) - killed
                figures[f"worker_lost_{name}_video_back_s"] = round(back, 2)
                assert back <= RESUME_WITHIN_S, f"{name}: video again {back:.1f} s after the worker was killed"
            # admitted participants never went back to the lobby; each negotiated a second time, same sockets
            assert len(room.of_type("lobby")) == 1 and (leader.offers, room.offers) == (2, 2)
            assert len(leader.joins) == len(room.joins) == 1
            # the room's new media is relayed by coturn to the worker that adopted the call
            kind, local, remote = room.selected_pair()
            assert (kind, local[0], remote[0]) == ("relay", relayed_by, worker_address[other]), (kind, local, remote)
            await asyncio.sleep(3)  # recorded a while on the second worker

            # --- 3. kill -9 of the leader's front: its page joins again through nginx, which fails over to the other
            leaders_front.kill()
            dropped, figures["front_killed_at"] = time.monotonic(), time.time()
            assert await wait_for(lambda: len(leader.joins) == 2 and leader.offers == 3, FRONT_RESUME_WITHIN_S + 5), \
                (leader.drops, [m["type"] for m in leader.messages])
            figures["front_lost_leader_rejoined_s"] = round(leader.joins[1] - dropped, 2)
            assert leader.joins[1] - dropped <= FRONT_RESUME_WITHIN_S
            # the media went on between the pages and the worker; the leader's page started its media afresh
            assert await wait_for(lambda: leader.frames_since(leader.joins[1] + 1) > 10
                               and room.frames_since(leader.joins[1] + 1) > 10, 10)
            for name, client in (("leader", leader), ("room", room)):
                pause = client.longest_pause(dropped, time.monotonic())
                figures[f"front_lost_{name}_longest_pause_s"] = round(pause, 2)
                assert pause <= FRONT_RESUME_WITHIN_S
            assert _accepted(rooms_front, session_id) == 2  # the leader's new socket
            # the room's socket never dropped; nobody was sent to the lobby; the call is still live
            assert len(room.joins) == 1 and not room.drops and len(room.of_type("lobby")) == 1
            assert not leader.of_type("lobby") and not leader.of_type("bye")
            assert topology.placed_on(session_id) == other
            await asyncio.sleep(2)

            # --- 4. Redis restarted (a clean stop, its append-only file kept): media never stops, signaling resumes
            seen = len(room.messages), len(leader.messages)
            down, figures["redis_stopped_at"] = time.monotonic(), time.time()
            await asyncio.to_thread(world.redis.stop)
            await asyncio.to_thread(world.redis.start)
            up = time.monotonic()
            figures["redis_restart_s"] = round(up - down, 2)
            # the media goes browser <-> worker: it does not stop with Redis
            await asyncio.sleep(1)
            for name, client in (("leader", leader), ("room", room)):
                pause = client.longest_pause(down - 1, time.monotonic())
                figures[f"redis_restart_{name}_longest_pause_s"] = round(pause, 2)
                assert pause < 1.0, f"{name}: {pause:.2f} s without video while Redis restarted"
            # a state change goes leader -> front -> Redis (the room's state, the bus) -> every front -> the room
            sent = time.monotonic()
            await leader.send({"type": "media_state", "audio": False, "video": True})

            def leader_muted() -> bool:
                return any(m["type"] == "state" and any(p["id"] == leader_pid and not p["audio"]
                                                        for p in m["participants"])
                           for m in room.messages[seen[0]:])

            assert await wait_for(leader_muted, SIGNALING_BACK_WITHIN_S), room.messages[seen[0]:]
            figures["redis_restart_state_s"] = round(time.monotonic() - sent, 2)
            # a media signal goes front -> Redis -> the worker, and the worker's offer back: a screen share's slot
            sent = time.monotonic()
            await leader.send({"type": "screen", "active": True})
            assert await wait_for(lambda: any(m["type"] == "offer" for m in leader.messages[seen[1]:]),
                               SIGNALING_BACK_WITHIN_S), leader.messages[seen[1]:]
            figures["redis_restart_worker_offer_s"] = round(time.monotonic() - sent, 2)
            await leader.send({"type": "screen", "active": False})
            await leader.send({"type": "media_state", "audio": True, "video": True})
            # nobody was taken for lost meanwhile: the call stays on its worker, every socket stayed up
            assert topology.placed_on(session_id) == other
            assert len(leader.joins) == 2 and len(room.joins) == 1
            await asyncio.sleep(2)
            assert leader.frames_since(up + 2) > 10 and room.frames_since(up + 2) > 10

            await leader.send({"type": "end"})
            assert await wait_for(lambda: leader.closed.is_set() and room.closed.is_set(), 10)
        finally:
            await room.close()
            await leader.close()
            elsewhere.close()

    network.run_in("clients", lambda: asyncio.run(scenario()))
    # coturn allocated a relay for the room on each worker's peer connection (the shared secret checked out)
    figures["turn_allocations_room"] = world.turn.allocations_for(relay["username"])
    assert figures["turn_allocations_room"] >= 2, world.turn.log.read_text()[-3000:]

    # nginx's log (a line when a socket closes): the leader's first socket went to its front, closed by the kill;
    # its second tried that front first (least connections), found it dead and went on to the room's
    dead, alive = (f"{network.address(p.host)}:{FRONT_PORT}" for p in (leaders_front, rooms_front))
    sockets = proxy.upstreams(f"/ws/sessions/{session_id}")
    assert sockets[0] == dead and sorted(sockets[1:]) == sorted([alive, f"{dead}, {alive}"]), sockets

    wait_finalised(db, session_id, topology)
    with db.transaction() as tx:
        recording = tx.query(Recording).filter(Recording.session_id == session_id).one()
        document = json.loads(recording.manifest)
        recording_id, media_key = recording.id, recording.media_key

    report, stored = world.verify(db.url, recording_id)
    assert report.ok, report.problems
    assert media_key in stored and all(s["key"] in stored for s in document["segments"])

    # the worker's loss is the only thing missing from both participants' recordings
    lost = [g for g in document["gaps"] if g["reason"] == manifests.WORKER_LOST]
    assert {g["participant_id"] for g in lost} == {leader_pid, room_pid}, document["gaps"]
    for gap in lost:
        seconds, start = manifests._seconds(gap), at(gap["start"])
        figures[f"worker_lost_gap_s_p{gap['participant_id']}"] = seconds
        figures[f"worker_lost_at_kill_s_p{gap['participant_id']}"] = round(figures["killed_at"] - start, 3)
        assert figures["killed_at"] - start <= MAX_LOST_AT_KILL_S
        assert seconds <= RESUME_WITHIN_S + MAX_LOST_AT_KILL_S
    assert report.missing == {g["participant_id"]: manifests._seconds(g) for g in lost}
    # the front's loss cost only the leader's fresh start of its media (a `rejoin` gap); Redis's restart nothing
    for name, pid in (("leader", leader_pid), ("room", room_pid)):
        cost = sum(manifests._seconds(g) for g in document["gaps"] if g["participant_id"] == pid
                   and figures["front_killed_at"] - 1 <= at(g["start"]) <= figures["front_killed_at"] + 10)
        figures[f"front_lost_recording_gap_s_{name}"] = round(cost, 3)
        assert cost <= MAX_FRONT_GAP_S, document["gaps"]
    assert not [g for g in document["gaps"] if at(g["start"]) >= figures["redis_stopped_at"] - 1
                and g["reason"] != "left"], document["gaps"]

    # `vreception recordings verify`, run on a host of the topology, says the rest is intact and what is missing
    done = subprocess.run(topology.cli("clients", ["recordings", "verify", str(recording_id)]), env=topology.env(),
                          cwd=topology.data_dir.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"recording {recording_id}: ok" in done.stdout
    assert done.stdout.count("missing: gap worker_lost") == 2, done.stdout
    for participant_id, seconds in report.missing.items():
        assert f"missing with a lost media worker: participant {participant_id}, {seconds} s in all" in done.stdout
    print("cluster topology:", json.dumps(figures), *manifests.missing(document), sep="\n  ")
