"""Concurrent load on the real server: the public lookup on SQLite, the coordinator's dashboard on PostgreSQL.

Each phase runs N closed-loop clients (each sends its next request once the last is answered) for PHASE_S
seconds against uvicorn in a subprocess on loopback, and prints answered requests per second, the 95th
percentile latency (timeouts included), the share answered 503 (shed by the admission guard) and the share
that failed (timed out, or 500).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import text

from vreception import org as org_service
from vreception import people
from vreception.cases.identity import Protector
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models.cases import Channel, Matter, MatterState

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("VRECEPTION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "b" * 48
PHASE_S = 4
# A request unanswered this long counts as a timeout, so that a wedged server still ends each phase.
TIMEOUT_S = 10
CLIENTS = (50, 200)
NUMBER, CODE = "B2026-00001", "BENCHLOAD"
USERNAME, PASSWORD = "bench.coordinator", "Bench@12345"


def _seed(url: str) -> None:
    """A county with a coordinator, and one matter the petitioner can look up."""
    upgrade(url)
    db = Database(url)
    try:
        with db.transaction() as session:
            province = org_service.create_node(db=session, code="580000", name="青岚省", level="province")
            city = org_service.create_node(db=session, code="580100", name="岚州市", level="city", parent_id=province.id)
            county = org_service.create_node(db=session, code="580102", name="城东区", level="county", parent_id=city.id)
            town = org_service.create_node(db=session, code="580102001", name="桃源镇", level="township",
                                           parent_id=county.id)
            coordinator = people.create_person(db=session, name="县信访局", node_id=county.id, username=USERNAME,
                                               password=PASSWORD)
            people.assign_role(db=session, person=coordinator, role="coordinator", node_id=county.id)
            session.add(Matter(number=NUMBER, query_code_hash=Protector(SECRET).lookup_hash(CODE),
                               origin_node_id=town.id, handling_node_id=county.id, handling_path=county.path,
                               channel=Channel.video, state=MatterState.registered,
                               received_at=datetime.now().astimezone()))
    finally:
        db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _served(url: str, data_dir: Path):
    """The app under uvicorn in a subprocess on loopback; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "VRECEPTION_DATABASE_URL": url, "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_MODE": "dev",
           "VRECEPTION_DATA_DIR": str(data_dir), "VRECEPTION_JOB_INTERVAL_SECONDS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "vreception.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _sign_in(base: str) -> dict:
    """The cookies of the coordinator signed in through the form."""
    with httpx.Client(base_url=base, timeout=10) as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text).group(1)
        response = browser.post("/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
        if response.status_code != 303:
            raise RuntimeError(f"sign-in failed: {response.status_code}")
        return dict(browser.cookies)


async def _phase(base: str, path: str, clients: int, cookies: dict | None) -> tuple[list[float], dict]:
    """CLIENTS closed-loop clients on PATH for PHASE_S seconds: latencies (s) and counts by status."""
    latencies, statuses = [], {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, limits=limits, cookies=cookies) as http:
        deadline = time.monotonic() + PHASE_S

        async def client() -> None:
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    status = (await http.get(path)).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.monotonic() - started)
                statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses


def _report(name: str, clients: int, started: float, latencies: list[float], statuses: dict) -> None:
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000
    answered = sum(count for status, count in statuses.items() if isinstance(status, int))
    # Timeouts, refused connections and 5xx other than the guard's 503: what must never happen.
    failed = sum(count for status, count in statuses.items() if not isinstance(status, int) or status in (500, 502))
    print(f"bench: load_{name}_c{clients}_rps {answered / elapsed:.0f} req/s", flush=True)
    print(f"bench: load_{name}_c{clients}_p95 {p95:.0f} ms", flush=True)
    print(f"bench: load_{name}_c{clients}_shed_503 {100 * statuses.get(503, 0) / len(latencies):.1f} %", flush=True)
    print(f"bench: load_{name}_c{clients}_failed {100 * failed / len(latencies):.1f} %", flush=True)
    print(f"# load_{name}_c{clients} statuses {statuses}", flush=True)


def _measure(name: str, base: str, path: str, cookies: dict | None = None) -> None:
    for clients in CLIENTS:
        started = time.monotonic()
        latencies, statuses = asyncio.run(_phase(base, path, clients, cookies))
        _report(name, clients, started, latencies, statuses)


def _fresh_schema(schema: str) -> str | None:
    """A new PostgreSQL schema's URL, or None when no server answers."""
    try:
        admin = Database(POSTGRES_URL, pool_size=1)
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as exc:  # no server: say so and still measure SQLite
        print(f"# postgresql unavailable: {exc!r}")
        return None
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    admin = Database(POSTGRES_URL, pool_size=1)
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    """Print requests/s, p95 and the 503 share at 50 and 200 clients: lookup on SQLite, dashboard on PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _seed(url)
        with _served(url, Path(tmp) / "var") as base:
            _measure("lookup", base, f"/api/v1/public/matters/{NUMBER}?code={CODE}")
        pg_url = _fresh_schema("vrbench_load")
        if pg_url is None:
            return
        try:
            _seed(pg_url)
            with _served(pg_url, Path(tmp) / "var") as base:
                _measure("dashboard", base, "/dashboard", _sign_in(base))
        finally:
            _drop_schema("vrbench_load")
    print(f"# {os.cpu_count()} cores, {PHASE_S} s per phase, closed-loop clients on loopback", flush=True)


if __name__ == "__main__":
    main()
