"""The deployment of issue 17 on one machine, each host in a network namespace of its own: nginx with the deploy/
site in front of two web fronts, two media workers, a Redis and an S3 server of the test's own, coturn with the
deploy/ configuration, and the machine's PostgreSQL (tests/cluster/conftest.py's `world` fixture builds it).

Hosts (10.66.0.x on one bridge, no route anywhere else): engines (Redis, S3), proxy (nginx), turn (coturn), front1,
front2, worker1, worker2, clients (the leader, aiortc, in a thread of the test process) and room (the township
room, aiortc on a loop of its own), whose only routes go to nginx and coturn: its media can only be relayed.
PostgreSQL is the machine's, reached over its Unix socket: a namespace separates the network, not the file system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
import pytest

from recordings import service
from recordings.storage import S3Storage
from tests.calls.test_turn_relay import TURN_SECRET, TURNSERVER
from tests.cluster.engines import (
    NGINX,
    REDIS_SERVER,
    Proxy,
    RedisServer,
    S3Server,
    TurnServer,
    listening,
    require_binary,
)
from tests.cluster.network import Network, require_namespaces
from tests.cluster.topology import SECRET, Topology, over_socket, require_local_postgres, wait_until
from tests.factories import book_walk_in, login
from vreception import audit
from vreception.db import Database
from vreception.models.recordings import Recording, RecordingState

HOSTS = {"engines": 2, "proxy": 3, "turn": 4, "front1": 11, "front2": 12, "worker1": 21, "worker2": 22,
         "clients": 100, "room": 101}
# A room behind a strict firewall: it reaches the site (signaling, through nginx) and coturn, nothing else.
ONLY = {"room": ["proxy", "turn"]}
WORKERS = {"w1": "worker1", "w2": "worker2"}


@dataclass
class World:
    network: Network
    topology: Topology
    redis: RedisServer
    s3: S3Server
    proxy: Proxy
    turn: TurnServer
    tmp_path: Path

    def storage(self) -> S3Storage:
        """The recordings' bucket (from a thread in a namespace that reaches the S3 server)."""
        return S3Storage(bucket=self.s3.bucket, staging=self.tmp_path / "staging", endpoint_url=self.s3.endpoint,
                         access_key="testing", secret_key="testing")

    def verify(self, database_url: str, recording_id: int) -> tuple[service.VerifyReport, list[str]]:
        """`recordings verify` of RECORDING_ID against the bucket, and every key in it (from the clients' host)."""

        def verified() -> tuple[service.VerifyReport, list[str]]:
            over = Database(over_socket(database_url))
            over.use_audit_key(audit.key_from_secret(SECRET))
            try:
                with over.transaction() as tx:
                    report = service.verify(db=tx, recording=service.get_recording(db=tx, recording_id=recording_id),
                                            storage=self.storage())
            finally:
                over.dispose()
            return report, self.s3.keys()

        return self.network.run_in("clients", verified)


@contextlib.contextmanager
def running_world(db, tmp_path: Path, *, segment_seconds: int | None = 5, own_disks: bool = False
                  ) -> Iterator[World]:
    """Every host and engine up (SEGMENT_SECONDS and OWN_DISKS as Topology's); all of it stopped afterwards."""
    require_namespaces()
    require_binary(NGINX, "nginx")
    require_binary(REDIS_SERVER, "redis-server")
    require_binary(TURNSERVER, "coturn")
    pytest.importorskip("moto.server")
    require_local_postgres(db.url)
    network = Network(HOSTS, only=ONLY)
    redis = RedisServer(network, "engines", tmp_path / "redis")
    s3 = S3Server(network, "engines", tmp_path / "s3.log")
    turn = TurnServer(network, "turn", tmp_path / "turn", secret=TURN_SECRET,
                      peers=[network.address(host) for host in WORKERS.values()])
    topology = Topology(network=network, database_url=db.url, data_dir=tmp_path / "var", redis_url=redis.url,
                        segment_seconds=segment_seconds, own_disks=own_disks,
                        settings={
                            "VRECEPTION_RECORDING_STORAGE": "s3", "VRECEPTION_RECORDING_S3_ENDPOINT": s3.endpoint,
                            "VRECEPTION_RECORDING_S3_BUCKET": s3.bucket,
                            "VRECEPTION_RECORDING_S3_ACCESS_KEY": "testing",
                            "VRECEPTION_RECORDING_S3_SECRET_KEY": "testing",
                            # every join answer carries the participant's own credentials for this coturn
                            "VRECEPTION_TURN_URLS": turn.url, "VRECEPTION_TURN_SECRET": TURN_SECRET,
                            # the fronts believe nginx's X-Forwarded-Proto (their join answers say wss://)
                            "VRECEPTION_TRUSTED_PROXIES": network.address("proxy")})
    topology.data_dir.mkdir()
    proxy = None
    try:
        network.up()
        redis.start()
        s3.start()
        turn.start()
        topology.start(workers=WORKERS, fronts=["front1", "front2"])
        proxy = Proxy(network, "proxy", topology.front_addresses(), tmp_path / "nginx")
        proxy.start()

        def bucket() -> None:
            assert wait_until(lambda: listening(network.address("engines"), s3.port), 60), s3.log.read_text()
            s3.client().create_bucket(Bucket=s3.bucket)
            assert wait_until(turn.listening, 30), turn.log.read_text() if turn.log.exists() else "no coturn log"

        network.run_in("clients", bucket)
        yield World(network, topology, redis, s3, proxy, turn, tmp_path)
    finally:
        topology.stop()
        for engine in (proxy, turn, s3, redis):
            if engine is not None:
                engine.stop()
        network.down()


def join(http: httpx.Client, session: dict, role: str, username: str) -> tuple[int, str, list[dict]]:
    """The participant id of ROLE, the WebSocket URL and the ICE servers of its join answer (the front's, behind
    nginx)."""
    participant = next(p for p in session["participants"] if p["role"] == role)
    response = http.post(f"/api/v1/sessions/{session['id']}/join", headers=login(http, username),
                         json={"participant_id": participant["id"]})
    assert response.status_code == 200, response.text
    return participant["id"], response.json()["ws_url"], response.json()["ice_servers"]


Seat = tuple[int, str, list[dict]]  # participant id, WebSocket URL, ICE servers


def book_call(world: World, org) -> tuple[dict, Seat, Seat]:
    """A walk-in session of the county leader and the township room booked through nginx from the clients'
    namespace, and the room's and the leader's seats."""
    tls = world.proxy.ssl_context()

    def book() -> tuple[dict, Seat, Seat]:
        with httpx.Client(base_url=world.proxy.base, verify=tls, timeout=30) as http:
            session = book_walk_in(http, org)
            return session, join(http, session, "room", "room.township"), join(http, session, "leader", "leader.county")

    return world.network.run_in("clients", book)


def at(instant: str) -> float:
    """A manifest's instant as a unix time."""
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()


def wait_finalised(db: Database, session_id: int, topology: Topology) -> None:
    """Wait up to 60 s for SESSION_ID's one recording to be finalised; fail with the workers' output."""
    def finalised() -> bool:
        with db.transaction() as tx:
            rows = tx.query(Recording).filter(Recording.session_id == session_id).all()
            return len(rows) == 1 and rows[0].state == RecordingState.finalised

    assert wait_until(finalised, 60), [p.output()[-3000:] for p in topology.workers.values()]
