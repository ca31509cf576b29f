"""`python -m bench scale --matters N`: a generated province on PostgreSQL, then every heavy page and API timed.

Loads bench.province into a fresh schema, serves the app under uvicorn on loopback, and sends sequential requests
as the people who use each page (province, city and county coordinators, a leader, a handler, a petitioner).
Prints `bench: scale_<N>_<name>_p50|p95 X ms`, the server's peak resident memory, and the load time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2 as httpx

from bench import province
from bench.bench_load import POSTGRES_URL, _drop_schema, _free_port, _fresh_schema, _healthy
from vreception import audit
from vreception.db import Database
from vreception.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s" * 48
SCHEMA = "vrbench_scale"
ROUNDS = 20


def _label(matters: int) -> str:
    return f"{matters // 1_000_000}m" if matters >= 1_000_000 and matters % 1_000_000 == 0 else (
        f"{matters // 1000}k" if matters >= 1000 else str(matters))


@contextmanager
def _served(url: str, data_dir: Path) -> Iterator[tuple[str, list[int]]]:
    """The app under uvicorn; yields its base URL and a list whose one item is the peak RSS seen so far (KiB)."""
    port = _free_port()
    env = {**os.environ, "VRECEPTION_DATABASE_URL": url, "VRECEPTION_SECRET_KEY": SECRET, "VRECEPTION_MODE": "dev",
           "VRECEPTION_DATA_DIR": str(data_dir), "VRECEPTION_JOB_INTERVAL_SECONDS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "vreception.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                return
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                peak[0] = max(peak[0], int(found.group(1)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base, peak
    finally:
        done.set()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _page_cookies(base: str, username: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as browser:
        found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        assert found is not None
        answer = browser.post("/login", data={"username": username, "password": province.PASSWORD,
                                              "csrf_token": found.group(1)})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in of {username} failed: {answer.status_code}")
        return dict(browser.cookies)


def _bearer(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": province.PASSWORD},
                        timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _time(base: str, name: str, path: str, label: str, *, cookies: dict[str, str] | None = None,
          headers: dict[str, str] | None = None, rounds: int = ROUNDS) -> None:
    """ROUNDS sequential GETs of PATH after one warm-up; prints p50 and p95 and the status seen."""
    times, statuses = [], set()
    with httpx.Client(base_url=base, timeout=120, cookies=cookies, headers=headers) as http:
        http.get(path)
        for _ in range(rounds):
            started = time.monotonic()
            statuses.add(http.get(path).status_code)
            times.append((time.monotonic() - started) * 1000)
    times.sort()
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"bench: scale_{label}_{name}_p50 {p50:.0f} ms", flush=True)
    print(f"bench: scale_{label}_{name}_p95 {p95:.0f} ms", flush=True)
    if statuses != {200}:
        print(f"# scale_{label}_{name} statuses {sorted(statuses)}", flush=True)


def load(url: str, matters: int, today: date) -> province.Accounts:
    """Migrate URL and load the province; prints the load time and row counts."""
    upgrade(url)
    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    started = time.monotonic()
    try:
        with db.transaction() as session:
            accounts, counts = province.build(session, matters=matters, secret=SECRET, today=today)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE") if db.backend == "postgresql" else None
    finally:
        db.dispose()
    label = _label(matters)
    print(f"bench: scale_{label}_load {time.monotonic() - started:.0f} s", flush=True)
    print(f"# scale_{label} rows {counts}", flush=True)
    return accounts


def reused(url: str) -> province.Accounts:
    """The accounts of a province loaded earlier (the generator's fixed usernames and its first matter)."""
    from sqlalchemy import select

    from vreception.models import Matter

    db = Database(url)
    try:
        with db.transaction() as session:
            first = session.scalars(select(Matter).order_by(Matter.id).limit(1)).one()
            number = first.number
    finally:
        db.dispose()
    names = {"province": "scale.province", "province_leader": "scale.province.leader", "city": "scale.city",
             "leader": "scale.leader", "handler": "scale.handler", "county": "scale.county", "room": "scale.room"}
    return province.Accounts(usernames=names, lookup_number=number, lookup_code=province.KNOWN_CODE)


def measure(url: str, matters: int, accounts: province.Accounts, today: date, data_dir: Path) -> None:
    """Every measured page and API, as the people who use it."""
    label = _label(matters)
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    zone = ZoneInfo("Asia/Shanghai")
    monday = today - timedelta(days=today.weekday())
    week = {"from": datetime.combine(monday, datetime.min.time(), zone).isoformat(),
            "to": datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone).isoformat()}
    names = accounts.usernames
    with _served(url, data_dir) as (base, peak):
        pages = {who: _page_cookies(base, names[who]) for who in ("province", "county", "handler", "leader")}
        api = {who: _bearer(base, names[who]) for who in ("province", "county", "handler")}
        _time(base, "province_dashboard", "/dashboard", label, cookies=pages["province"])
        _time(base, "county_dashboard", "/dashboard", label, cookies=pages["county"])
        _time(base, "province_rates_month", f"/api/v1/stats/rates?month={month}", label, headers=api["province"])
        _time(base, "county_rates_month", f"/api/v1/stats/rates?month={month}", label, headers=api["county"])
        _time(base, "matters_page_county", "/matters", label, cookies=pages["county"])
        _time(base, "matters_api_province", "/api/v1/matters", label, headers=api["province"])
        _time(base, "tasks_page_handler", "/tasks", label, cookies=pages["handler"])
        _time(base, "tasks_api_handler", "/api/v1/tasks", label, headers=api["handler"])
        _time(base, "sessions_api_county", f"/api/v1/sessions?from={week['from']}&to={week['to']}".replace("+", "%2B"),
              label, headers=api["county"])
        _time(base, "leader_agenda", "/agenda", label, cookies=pages["leader"])
        _time(base, "public_lookup",
              f"/api/v1/public/matters/{accounts.lookup_number}?code={accounts.lookup_code}", label, rounds=8)
        print(f"bench: scale_{label}_server_peak_rss {peak[0] / 1024:.0f} MiB", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--matters", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the schema (vrbench_scale) afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the province a --keep run left (migrated to the current schema first)")
    args = parser.parse_args(argv)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    if args.reuse:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{SCHEMA}"
        upgrade(url)
        accounts, args.keep = reused(url), True
        with tempfile.TemporaryDirectory() as tmp:
            measure(url, args.matters, accounts, today, Path(tmp))
        return 0
    url = _fresh_schema(SCHEMA)
    if url is None:
        print("# scale: needs PostgreSQL at " + POSTGRES_URL)
        return 1
    try:
        accounts = load(url, args.matters, today)
        with tempfile.TemporaryDirectory() as tmp:
            measure(url, args.matters, accounts, today, Path(tmp))
    finally:
        if not args.keep:
            _drop_schema(SCHEMA)
    return 0
