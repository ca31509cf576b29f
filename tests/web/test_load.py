"""Bursts of 200 parallel requests against a real server: every one answered in time, none a 500, /healthz up."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema
from tests.factories import PASSWORD, build_org
from vreception import audit
from vreception.cases.identity import Protector
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models.cases import Channel, Matter, MatterState

# A real server and 200 clients: kept off the worker that runs the timing-bound media tests.
HEAVY = (pytest.mark.slow, pytest.mark.serial, pytest.mark.xdist_group("media"))

ROOT = Path(__file__).resolve().parents[2]
SECRET = "l" * 48
BURST = 200
ANSWER_WITHIN_S = 30
# Answers a client can act on; a 500 or no answer at all is the failure.
ALLOWED = {200, 404, 429, 503}
NUMBER, CODE = "X2026-00001", "LOADTEST"


def heavy(test):
    """Mark TEST with HEAVY."""
    for mark in HEAVY:
        test = mark(test)
    return test


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(url: str, data_dir: Path, **env):
    """The real app under uvicorn in a subprocess on URL; yields its base URL, kills it afterwards."""
    port = free_port()
    environ = {**os.environ, "VRECEPTION_DATABASE_URL": url, "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_MODE": "dev",
               "VRECEPTION_DATA_DIR": str(data_dir), "VRECEPTION_JOB_INTERVAL_SECONDS": "0", **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "vreception.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             # The burst's clients connect first and may idle past the default 5 s.
                             "--timeout-keep-alive", "120"],
                            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a wedged server does not stop on SIGTERM
            proc.kill()
            proc.wait(timeout=10)


def wait_until_up(proc: subprocess.Popen, base: str) -> None:
    """Return once /healthz answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {base} did not start")


def seed(url: str) -> None:
    """The small org of the tests and one matter the petitioner can look up with CODE."""
    upgrade(url)
    db = Database(url)
    try:
        org = build_org(db)
        with db.transaction() as session:
            session.add(Matter(number=NUMBER, query_code_hash=Protector(SECRET).lookup_hash(CODE),
                               origin_node_id=org.nodes["township"].id, handling_node_id=org.nodes["county"].id,
                               handling_path=org.nodes["county"].path, channel=Channel.video,
                               state=MatterState.registered, received_at=datetime.now().astimezone()))
    finally:
        db.dispose()


def sign_in(base: str, username: str) -> dict:
    """The cookies of a browser signed in through the real form."""
    with httpx.Client(base_url=base, timeout=10) as browser:
        form = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303, response.text
        return dict(browser.cookies)


class Health(threading.Thread):
    """Polls /healthz during a burst and keeps every status (or the error) with its latency."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.seen, self.done = base, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as http:
            # At least one poll, even when the burst is answered before this thread first runs.
            while True:
                started = time.monotonic()
                try:
                    status = http.get("/healthz").status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.seen.append((status, time.monotonic() - started))
                if self.done.wait(0.5):
                    return


@dataclass
class Burst:
    """What a burst saw: each request's status (or error), the 503s' Retry-After and body, the /healthz polls."""

    outcomes: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    health: list = field(default_factory=list)
    elapsed: float = 0.0


def burst(base: str, path: str, cookies: dict | None = None) -> Burst:
    """BURST parallel GETs of PATH, all arriving together, while /healthz is polled."""
    barrier = threading.Barrier(BURST + 1, timeout=60)
    health, seen = Health(base), Burst()
    tls = ssl.create_default_context()  # unused on http://, but each client would otherwise load its own

    def one(_: int):
        with httpx.Client(base_url=base, timeout=ANSWER_WITHIN_S + 5, cookies=cookies, verify=tls) as http:
            # Each client connects first, so that all the requests then arrive together.
            http.get("/static/app.css")
            barrier.wait()
            try:
                response = http.get(path)
            except httpx.HTTPError as exc:
                return type(exc).__name__
            if response.status_code == 503:
                seen.refusals.append((response.headers.get("retry-after"), response.json()))
            return response.status_code

    with ThreadPoolExecutor(BURST) as pool:
        answers = pool.map(one, range(BURST))
        barrier.wait()
        health.start()
        started = time.monotonic()
        seen.outcomes = list(answers)
        seen.elapsed = time.monotonic() - started
    health.done.set()
    health.join(15)
    seen.health = health.seen
    return seen


def assert_answered(seen: Burst) -> None:
    """Every request answered with an allowed status within the bound; /healthz up all along."""
    counts = {o: seen.outcomes.count(o) for o in set(seen.outcomes)}
    assert set(seen.outcomes) <= ALLOWED, f"unexpected outcomes {counts} after {seen.elapsed:.1f} s"
    assert seen.elapsed < ANSWER_WITHIN_S, f"the burst took {seen.elapsed:.1f} s: {counts}"
    assert 200 in seen.outcomes, counts
    assert seen.health and all(status == 200 and seconds < 5 for status, seconds in seen.health), seen.health


@heavy
def test_200_parallel_public_lookups_on_sqlite_are_all_answered(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    seed(url)
    with served(url, tmp_path / "var") as base:
        seen = burst(base, f"/api/v1/public/matters/{NUMBER}?code={CODE}")
    assert_answered(seen)


@heavy
def test_requests_beyond_the_queue_get_503_overloaded_with_retry_after(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    seed(url)
    tight = {"VRECEPTION_MAX_CONCURRENT_REQUESTS": "2", "VRECEPTION_MAX_QUEUED_REQUESTS": "4",
             "VRECEPTION_QUEUE_TIMEOUT_SECONDS": "1", "VRECEPTION_DEFAULT_LANGUAGE": "en"}
    with served(url, tmp_path / "var", **tight) as base:
        seen = burst(base, f"/api/v1/public/matters/{NUMBER}?code={CODE}")
    assert_answered(seen)
    assert seen.outcomes.count(503) == len(seen.refusals) > 0, seen.outcomes
    assert {retry for retry, _ in seen.refusals} == {"5"}
    assert {body["code"] for _, body in seen.refusals} == {"overloaded"}
    assert {body["detail"] for _, body in seen.refusals} == {"The server is busy; try again in a few seconds."}


@heavy
def test_200_parallel_dashboards_on_postgresql_are_all_answered(postgres_available, tmp_path):
    schema = f"vrt_load_{_worker()}"
    url = fresh_postgres_schema(schema)
    try:
        seed(url)
        # Named, so that only this server's connections are counted in pg_stat_activity.
        with served(f"{url}&application_name={schema}", tmp_path / "var") as base:
            seen = burst(base, "/dashboard", sign_in(base, "coord.county"))
            idle = in_transaction(url, schema)
        assert_answered(seen)
        assert idle == 0, f"{idle} connections left idle in transaction"
    finally:
        drop_postgres_schema(schema)


def in_transaction(url: str, application: str) -> int:
    """How many connections of APPLICATION sit idle in a transaction (waits up to 5 s for none)."""
    db = Database(url, pool_size=1)
    try:
        deadline = time.monotonic() + 5
        while True:
            with db.engine.connect() as connection:
                idle = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                    "AND application_name = :name"), {"name": application}).scalar()
            if idle == 0 or time.monotonic() > deadline:
                return idle
            time.sleep(0.2)
    finally:
        db.dispose()


def test_a_read_does_not_wait_for_a_writer(db):
    with db.transaction() as writer:
        audit.record(db=writer, action="test.write", entity_type="test", entity_id=1)  # holds the write lock
        started = time.monotonic()
        with db.transaction(reads_only=True) as reader:
            assert reader.execute(text("SELECT seq FROM audit_head")).scalar() == 0
        assert time.monotonic() - started < 1


def test_a_read_that_then_writes_commits_whole_or_not_at_all(db):
    with db.transaction(reads_only=True) as reader:
        reader.execute(text("SELECT seq FROM audit_head")).scalar()
        with db.transaction() as writer:
            audit.record(db=writer, action="test.first", entity_type="test", entity_id=1)
        if db.backend == "sqlite":
            # Its snapshot is older than the other writer's commit: SQLite refuses the upgrade at once
            # (the app answers 503 overloaded, to be retried) rather than write over a stale read.
            with pytest.raises(OperationalError, match="database is locked"):
                audit.record(db=reader, action="test.second", entity_type="test", entity_id=2)
            reader.rollback()
        else:
            audit.record(db=reader, action="test.second", entity_type="test", entity_id=2)
    with db.transaction(reads_only=True) as session:
        report = audit.verify(db=session)
    assert report.ok and report.events == (1 if db.backend == "sqlite" else 2), report


@pytest.mark.slow
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # SQLite's writers wait on busy_timeout, also bounded
def test_a_postgresql_row_lock_is_never_waited_for_forever(db):
    with db.transaction() as holder:
        audit.record(db=holder, action="test.hold", entity_type="test", entity_id=1)  # locks the chain's head row
        started = time.monotonic()
        with pytest.raises(OperationalError) as refused, db.transaction() as waiter:
            audit.record(db=waiter, action="test.wait", entity_type="test", entity_id=2)
        assert refused.value.orig.sqlstate == "55P03"  # lock_not_available: the app answers 503 overloaded
        assert time.monotonic() - started < 15
