"""Many processes, one leader, overlapping times: the database lets exactly one booking through."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from scheduling import plans
from scheduling.policy import Policy
from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema
from tests.scheduling.conftest import SH
from vreception import org as org_service
from vreception import people
from vreception.auth import tokens
from vreception.clock import now
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models import SignIn
from vreception.models.cases import Channel, Matter, MatterState
from vreception.models.scheduling import Claim, ReceptionSession
from vreception.workdays import load_calendar

ROOT = Path(__file__).resolve().parents[2]
SECRET = "c" * 48
SERVERS = 3
REQUESTS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> dict:
    db = Database(url)
    try:
        with db.transaction() as session:
            province = org_service.create_node(db=session, code="580000", name="青岚省", level="province")
            city = org_service.create_node(db=session, code="580100", name="岚州市", level="city", parent_id=province.id)
            county = org_service.create_node(db=session, code="580102", name="城东区", level="county", parent_id=city.id)
            towns = [org_service.create_node(db=session, code=f"58010200{i}", name=f"镇{i}", level="township",
                                             parent_id=county.id) for i in (1, 2)]
            rooms = [org_service.create_room(db=session, node_id=t.id, name=f"{t.name}接访室") for t in towns]
            leader = people.create_person(db=session, name="县领导", title="副县长", node_id=county.id)
            people.assign_role(db=session, person=leader, role="leader", node_id=county.id)
            coordinator = people.create_person(db=session, name="县信访局", node_id=county.id)
            people.assign_role(db=session, person=coordinator, role="coordinator", node_id=county.id)
            calendar = load_calendar(db=session)
            day = calendar.next_workday(datetime.now(SH).date() + timedelta(days=2))
            plans.create_plan(db=session, policy=Policy(), kind="rotation", leader_ids=[leader.id], starts=clock_time(9),
                              ends=clock_time(12), slot_minutes=30, valid_from=date.today() - timedelta(days=1))
            matter = Matter(number="C2026-00001", query_code_hash="x" * 64, origin_node_id=towns[0].id,
                            handling_node_id=county.id, handling_path=county.path, channel=Channel.video,
                            state=MatterState.registered, received_at=datetime.now(SH))
            session.add(matter)
            session.flush()
            return {"leader": leader.id, "coordinator": coordinator.id, "rooms": [r.id for r in rooms],
                    "matter": matter.id, "day": day}
    finally:
        db.dispose()


def _start_servers(url: str, data_dir: Path) -> tuple[list[subprocess.Popen], list[str]]:
    env = {**os.environ, "VRECEPTION_DATABASE_URL": url, "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_MODE": "dev",
           "VRECEPTION_DATA_DIR": str(data_dir), "VRECEPTION_JOB_INTERVAL_SECONDS": "0"}
    procs, bases = [], []
    for _ in range(SERVERS):
        port = _free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "vreception.app:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        bases.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for proc, base in zip(procs, bases, strict=True):
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server at {base} did not start")
            time.sleep(0.2)
    return procs, bases


@pytest.mark.slow
def test_fifty_concurrent_bookings_from_three_processes_yield_exactly_one(postgres_available, tmp_path):
    url = fresh_postgres_schema(f"vrt_sched_race_{_worker()}")
    upgrade(url)
    seed = _seed(url)
    # A token is good only with an open sign-in behind it.
    db = Database(url)
    with db.transaction() as session:
        opened = SignIn(id="race0000000000000000000000000000", person_id=seed["coordinator"], via="api",
                        expires_at=now() + timedelta(hours=1), revoked_reason="")
        session.add(opened)
    db.dispose()
    token, _ = tokens.issue(SECRET, subject=str(seed["coordinator"]), purpose="api", ttl=timedelta(hours=1),
                            jti=opened.id)
    headers = {"Authorization": f"Bearer {token}"}
    procs, bases = _start_servers(url, tmp_path)
    barrier = threading.Barrier(REQUESTS)

    def attempt(i: int) -> tuple[int, str]:
        # Starts 09:00 … 09:25 with 30-minute sessions: every pair overlaps for the one leader.
        start = datetime.combine(seed["day"], clock_time(9, 0), tzinfo=SH) + timedelta(minutes=5 * (i % 6))
        body = {"kind": "reception", "leader_id": seed["leader"], "room_ids": [seed["rooms"][i % 2]],
                "matter_id": seed["matter"], "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat()}
        with httpx.Client(base_url=bases[i % SERVERS], timeout=60) as http:
            barrier.wait()
            response = http.post("/api/v1/sessions", json=body, headers=headers)
        return response.status_code, response.json().get("code", "")

    try:
        with ThreadPoolExecutor(REQUESTS) as pool:
            results = list(pool.map(attempt, range(REQUESTS)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(409) == REQUESTS - 1, results
    assert {code for status, code in results if status == 409} == {"conflict"}
    db = Database(url)
    try:
        with db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(ReceptionSession)) == 1
            winner = session.scalar(select(ReceptionSession.id))
            assert set(session.scalars(select(Claim.session_id).distinct())) == {winner}
    finally:
        db.dispose()
        drop_postgres_schema(f"vrt_sched_race_{_worker()}")
