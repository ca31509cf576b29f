"""The cluster's figures: how evenly sessions spread over media workers, and signaling messages per second through a
front whose calls' media lives on a worker.

Placement: two workers announced in Redis, 200 sessions placed at once from 20 concurrent callers, a third of them
released and 60 more placed; the spread is the largest minus the smallest count of sessions per worker.
Throughput: a front (`vreception serve`) and a media worker (`vreception media-worker`) as processes on loopback,
CLIENTS participants each sending `ping` and waiting for its `pong` (the room step, the Redis bus, the fan-out) for
PHASE_S seconds; then the relay from a front to a worker (placement lookup, publish, the worker applying it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import redis.asyncio as aioredis
import websockets

from vreception import audit, people
from vreception import org as org_service
from vreception.auth import tokens
from vreception.clock import now
from vreception.cluster.keys import ClusterKeys
from vreception.cluster.placement import Placement
from vreception.cluster.registry import WorkerInfo, announce
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState

REDIS_URL = os.environ.get("VRECEPTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "c" * 48
PHASE_S = 4
CLIENTS = 20
LOST_AFTER_S = 5.0  # a ping unanswered this long is counted lost
SESSIONS = 200


async def _redis_answers() -> bool:
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()


async def _forget(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)


async def placement_spread() -> None:
    """Sessions placed over 2 workers: within ±1 of even (the spread is max - min)."""
    client = aioredis.from_url(REDIS_URL)
    keys = ClusterKeys(f"bench-{uuid.uuid4().hex[:8]}:")
    placement = Placement(client, keys)
    try:
        for worker_id in ("w1", "w2"):
            await announce(client, keys, WorkerInfo(id=worker_id, address="127.0.0.1", capacity=1000), ttl_ms=60_000)
        ids = list(range(1, SESSIONS + 1))
        queue: asyncio.Queue[int] = asyncio.Queue()
        for session_id in ids:
            queue.put_nowait(session_id)

        async def caller() -> None:
            while not queue.empty():
                await placement.place(queue.get_nowait())

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(20)))
        elapsed = time.perf_counter() - started
        rng = random.Random(7)
        for session_id in rng.sample(ids, SESSIONS // 3):
            worker = await placement.placed_on(session_id)
            assert worker is not None
            await placement.release(session_id, worker)
        for session_id in range(SESSIONS + 1, SESSIONS + 61):
            await placement.place(session_id)
        spread = await placement.spread()
        print(f"bench: cluster_placements_per_s {SESSIONS / elapsed:.0f} /s", flush=True)
        print(f"bench: cluster_sessions_per_worker {json.dumps(spread, sort_keys=True)}", flush=True)
        print(f"bench: cluster_placement_spread {max(spread.values()) - min(spread.values())}", flush=True)
    finally:
        await _forget(client, keys.prefix)
        await client.aclose()


def _seed(url: str) -> tuple[int, list[int]]:
    """A booked session of a county leader with CLIENTS coordinator seats (admitted at once); (id, seat ids)."""
    upgrade(url)
    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    try:
        with db.transaction() as tx:
            province = org_service.create_node(db=tx, code="580000", name="青岚省", level="province")
            city = org_service.create_node(db=tx, code="580100", name="岚州市", level="city", parent_id=province.id)
            county = org_service.create_node(db=tx, code="580102", name="城东区", level="county", parent_id=city.id)
            leader = people.create_person(db=tx, name="县领导", node_id=county.id, username="bench.leader",
                                          password="Bench@12345")
            people.assign_role(db=tx, person=leader, role="leader", node_id=county.id)
            booked = ReceptionSession(kind=SessionKind.reception, state=SessionState.booked, leader_id=leader.id,
                                      node_path=county.path, starts_at=now(), ends_at=now() + timedelta(hours=1))
            booked.participants = [Participant(role="coordinator", name=f"协调员{i}") for i in range(CLIENTS)]
            tx.add(booked)
            tx.flush()
            return booked.id, [p.id for p in booked.participants]
    finally:
        db.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen([sys.executable, "-m", "vreception.cli", *args], env=env, cwd=log.parent,
                                stdout=handle, stderr=subprocess.STDOUT)


async def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.2)
    return False


async def signaling_throughput() -> None:
    """Ping round trips per second through one front with the media on a worker, and the front-to-worker relay."""
    work = Path(tempfile.mkdtemp(prefix="vreception-bench-cluster-"))
    url = f"sqlite:///{work / 'bench.db'}"
    session_id, seats = _seed(url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRECEPTION_")}
    env.update({"VRECEPTION_MODE": "dev", "VRECEPTION_DATABASE_URL": url, "VRECEPTION_DATA_DIR": str(work / "var"),
                "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_REDIS_URL": REDIS_URL, "VRECEPTION_REDIS_PREFIX": prefix,
                "VRECEPTION_MEDIA_PLACEMENT": "workers", "VRECEPTION_MEDIA_HOST_ADDRESSES": "127.0.0.1",
                "VRECEPTION_JOB_INTERVAL_SECONDS": "0", "PYTHONUNBUFFERED": "1"})
    port = _free_port()
    worker = _spawn(["media-worker", "--id", "bench-w1"], env, work / "worker.log")
    front = _spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], env, work / "front.log")
    base = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient(timeout=1) as http:
                return (await http.get(f"{base}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        if not await _wait(healthy, 120):  # a loaded machine takes its time to import the app
            raise RuntimeError(f"front did not start: {(work / 'front.log').read_text()[-2000:]}")
        sockets = []
        for seat in seats:
            token, _ = tokens.issue(SECRET, subject=str(seat), purpose="join", ttl=timedelta(minutes=15),
                                    session_id=session_id, participant_id=seat, role="coordinator")
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/sessions/{session_id}?token={token}")
            sockets.append(ws)
        # let the joins' state messages pass, then count only pongs
        await asyncio.sleep(1.0)
        stop_at = time.monotonic() + PHASE_S
        counts = [0] * len(sockets)
        latencies: list[float] = []

        denied, lost = [0], [0]

        async def answer_to_ping(ws) -> dict:
            while (answer := json.loads(await ws.recv()))["type"] not in ("pong", "error"):
                pass
            return answer

        async def client(index: int, ws) -> None:
            while time.monotonic() < stop_at:
                sent = time.perf_counter()
                await ws.send('{"type":"ping"}')
                try:
                    answer = await asyncio.wait_for(answer_to_ping(ws), LOST_AFTER_S)
                except TimeoutError:  # once seen on a loaded machine: the bench must end and say so
                    lost[0] += 1
                    continue
                if answer["type"] == "error":  # the socket's rate limit (20/s) answered instead: wait a token
                    denied[0] += 1
                    await asyncio.sleep(1 / 20)
                    continue
                latencies.append(time.perf_counter() - sent)
                counts[index] += 1

        started, cpu_before = time.monotonic(), _cpu_seconds(front.pid)
        await asyncio.gather(*(client(i, ws) for i, ws in enumerate(sockets)))
        elapsed, cpu = time.monotonic() - started, _cpu_seconds(front.pid) - cpu_before
        latencies.sort()
        print(f"bench: cluster_front_signaling_messages_per_s {sum(counts) / elapsed:.0f} /s "
              f"({CLIENTS} clients, p95 {1000 * latencies[int(0.95 * len(latencies))]:.1f} ms)", flush=True)
        # the rate depends on what else the machine runs; the front's CPU per message does not
        print(f"bench: cluster_front_cpu_ms_per_message {1000 * cpu / max(1, sum(counts) + denied[0]):.2f} ms", flush=True)
        print(f"bench: cluster_front_rate_limited_pings {denied[0]}", flush=True)
        print(f"bench: cluster_front_unanswered_pings {lost[0]}", flush=True)
        for ws in sockets:
            await ws.close()
    finally:
        for process in (front, worker):
            process.terminate()
        for process in (front, worker):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        client = aioredis.from_url(REDIS_URL)
        await _forget(client, prefix)
        await client.aclose()


async def relay_throughput() -> None:
    """Commands per second from a front's media side to a worker (placement lookup, publish, the worker applying)."""
    from signaling.redis_bus import RedisBus
    from vreception.config import Settings
    from web.calls.remote import RemoteMedia
    from web.calls.worker import MediaWorker

    work = Path(tempfile.mkdtemp(prefix="vreception-bench-relay-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    settings = Settings(mode="dev", database_url=f"sqlite:///{work / 'relay.db'}", data_dir=work, secret_key=SECRET,
                        redis_url=REDIS_URL, redis_prefix=prefix, media_placement="workers",
                        media_worker_id="relay-w1", media_host_addresses=["127.0.0.1"])
    db = Database(settings.effective_database_url)
    worker = MediaWorker(db=db, settings=settings)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    bus = RedisBus.from_url(REDIS_URL, prefix=prefix)

    async def no_delivery(*_: object) -> None:
        return None

    front = RemoteMedia(settings=settings, bus=bus, deliver=no_delivery)
    try:
        await _wait(lambda: _true(worker.heartbeat.beats > 0), 10)
        sessions, each = 20, 100
        for session_id in range(1, sessions + 1):
            await front.open(session_id)

        async def front_side(session_id: int) -> None:
            for _ in range(each):
                await front.leave(session_id, 99)  # nobody of that id holds media: the worker applies a no-op

        started = time.perf_counter()
        await asyncio.gather(*(front_side(i) for i in range(1, sessions + 1)))
        await _wait(lambda: _true(worker.commands >= sessions * each), 60)
        elapsed = time.perf_counter() - started
        print(f"bench: cluster_relay_commands_per_s {worker.commands / elapsed:.0f} /s ({sessions} sessions at once)",
              flush=True)
    finally:
        stop.set()
        await asyncio.gather(running, return_exceptions=True)
        await front.close()
        await bus.close()
        client = aioredis.from_url(REDIS_URL)
        await _forget(client, prefix)
        await client.aclose()
        db.dispose()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _true(value: bool) -> bool:
    return value


def main() -> None:
    if not asyncio.run(_redis_answers()):
        print(f"# bench_cluster: Redis at {REDIS_URL} does not answer; skipped", flush=True)
        return
    asyncio.run(placement_spread())
    asyncio.run(relay_throughput())
    asyncio.run(signaling_throughput())


if __name__ == "__main__":
    main()
