"""`python -m bench scale --matters N`: a generated province on PostgreSQL, then every heavy page and API timed.

Loads bench.province into a fresh schema, serves the app under uvicorn on loopback, and sends sequential requests
as the people who use each page (province, city and county coordinators, a leader, a handler, a petitioner).
Prints `bench: scale_<N>_<name>_p50|p95 X ms`, the server's peak resident memory, and the load time.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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
BOOKINGS = 40  # timed bookings (after one untimed): writes vary more than reads, so more samples
BOOKABLE = ("registered", "replied", "served", "review_requested")  # matters a leader's reception slot may take


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
    p50, p95 = _percentiles(times)
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
            accounts, counts = province.build(session, matters=matters, secret=SECRET, today=today,
                                              log=lambda line: print(line, flush=True))
        if db.backend == "postgresql":
            _analyze(db)
    finally:
        db.dispose()
    label = _label(matters)
    print(f"bench: scale_{label}_load {time.monotonic() - started:.0f} s", flush=True)
    print(f"# scale_{label} rows {counts}", flush=True)
    return accounts


def _analyze(db: Database) -> None:
    """VACUUM ANALYZE the tables of this schema only (a bare ANALYZE also waits on the other schemas being loaded)."""
    # VACUUM as autovacuum would (it may be off, as on this machine's server, or not round yet): the visibility map it
    # writes is what lets the covering indexes (0025) answer from the index alone.
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("SET lock_timeout = 0")
        names = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all()
        for name in names:
            connection.exec_driver_sql(f'VACUUM (ANALYZE) "{name}"')


def reused(url: str) -> province.Accounts:
    """The accounts of a province loaded earlier (the generator's fixed usernames and its first matter)."""
    from sqlalchemy import select

    from vreception.models import Matter, Person, RoleAssignment

    db = Database(url)
    try:
        with db.transaction() as session:
            first = session.scalars(select(Matter).order_by(Matter.id).limit(1)).one()
            number = first.number
            leader_id = session.scalar(select(Person.id).where(Person.username == "scale.leader"))
            room_id = session.scalar(select(RoleAssignment.room_id).join(Person, Person.id == RoleAssignment.person_id)
                                     .where(Person.username == "scale.room"))
    finally:
        db.dispose()
    names = {"province": "scale.province", "province_leader": "scale.province.leader", "city": "scale.city",
             "leader": "scale.leader", "handler": "scale.handler", "county": "scale.county", "room": "scale.room"}
    return province.Accounts(usernames=names, lookup_number=number, lookup_code=province.KNOWN_CODE,
                             leader_id=int(leader_id or 0), room_id=int(room_id or 0))


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
        _time(base, "statistics_page_province", "/statistics", label, cookies=pages["province"], rounds=10)
        _time(base, "statistics_page_province_last_month", f"/statistics?from={month}&to={month}", label,
              cookies=pages["province"], rounds=10)
        _time(base, "statistics_trend_province", "/api/v1/stats/trend", label, headers=api["province"], rounds=10)
        _time(base, "statistics_summary_county", "/api/v1/stats/summary", label, headers=api["county"], rounds=10)
        _booking(base, label, accounts, today, api["county"])
        print(f"bench: scale_{label}_server_peak_rss {peak[0] / 1024:.0f} MiB", flush=True)
    _live_month(url, label, today, data_dir)
    _audit_day(url, label)


# The small tables a measurement rewrites in place (the audit chain's head, the number counters, the integration
# feed's head, a room's last sign of life) or adds to under keys that are not sequence ids (sign-ins, by token id):
# saved whole and written back.
REWRITTEN = ("audit_head", "counters", "integration_head", "room_status", "sign_ins")


@contextmanager
def _undone(url: str) -> Iterator[None]:
    """What the measurement writes (a reception plan, bookings with their claims and events, sign-ins, a day of audit
    events and a checkpoint …) removed afterwards: every table's rows past its id when the run began, the rows of
    tables without ids that refer to them, the REWRITTEN rows and the id sequences put back, the touched tables
    vacuumed. Repeated --reuse runs then measure the same province (each run added a plan and 21 bookings before)."""
    from sqlalchemy import Integer, func, select, text

    from vreception.models import Base

    counted = [t for t in Base.metadata.sorted_tables
               if "id" in t.c and t.c.id.primary_key and isinstance(t.c.id.type, Integer)]
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            marks = {t.name: int(connection.scalar(select(func.coalesce(func.max(t.c.id), 0))) or 0) for t in counted}
            sequences = {}
            for table in counted:
                name = connection.scalar(text(f"SELECT pg_get_serial_sequence('{table.name}', 'id')"))
                if name:
                    sequences[name] = tuple(connection.execute(text(f"SELECT last_value, is_called FROM {name}")).one())
            saved = {name: [dict(row._mapping) for row in connection.execute(select(Base.metadata.tables[name]))]
                     for name in REWRITTEN}
        try:
            yield
        finally:
            touched = _undo(db, marks, sequences, saved)
            print(f"# scale: the run's writes undone in {', '.join(touched) or 'no table'}", flush=True)
    finally:
        db.dispose()


def _undo(db: Database, marks: dict[str, int], sequences: dict[str, tuple[int, bool]],
          saved: dict[str, list[dict]]) -> list[str]:
    """Rows past MARKS deleted (those that refer first), SAVED written back, SEQUENCES set back; the tables touched."""
    from sqlalchemy import delete, insert, text

    from vreception.models import Base

    touched = []
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in saved:
                continue
            if table.name in marks:
                conditions = [table.c.id > marks[table.name]]
            else:
                conditions = [fk.parent > marks[fk.column.table.name] for fk in table.foreign_keys
                              if fk.column.table.name in marks and fk.column.name == "id"]
            if sum(connection.execute(delete(table).where(c)).rowcount for c in conditions):
                touched.append(table.name)
        for name, rows in saved.items():
            connection.execute(delete(Base.metadata.tables[name]))
            if rows:
                connection.execute(insert(Base.metadata.tables[name]), rows)
        for name, (value, called) in sequences.items():
            connection.execute(text("SELECT setval(:name, :value, :called)"),
                               {"name": name, "value": value, "called": called})
    # Dead rows take their heap pages out of the visibility map: the index-only scans the pages rely on would visit
    # the heap again until a vacuum (autovacuum may be off).
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for name in [*touched, *saved]:
            connection.exec_driver_sql(f'VACUUM "{name}"')
    return touched


def _percentiles(times: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile by nearest rank (of 20 samples the 19th: int(0.95 * 20) was the 20th, the
    slowest, a p100)."""
    times = sorted(times)
    return times[len(times) // 2], times[max(0, math.ceil(0.95 * len(times)) - 1)]


def _booking(base: str, label: str, accounts: province.Accounts, today: date, headers: dict[str, str]) -> None:
    """A county leader's reception plan, then availability over four weeks and bookings of free slots, timed."""
    zone = ZoneInfo("Asia/Shanghai")
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        plan = http.post("/api/v1/plans", json={
            "kind": "rotation", "leader_ids": [accounts.leader_id], "starts": "08:30", "ends": "17:30",
            "slot_minutes": 30, "room_ids": [accounts.room_id], "valid_from": today.isoformat()})
        if plan.status_code != 201:
            print(f"# scale_{label} plan {plan.status_code} {plan.text[:200]}", flush=True)
            return
        start = datetime.combine(today + timedelta(days=2), datetime.min.time(), zone)
        query: dict[str, str | int] = {"leader_id": accounts.leader_id, "room_id": accounts.room_id, "from": start.isoformat(),
                 "to": (start + timedelta(days=28)).isoformat()}
        times: list[float] = []
        slots: list[dict[str, str]] = []
        for _ in range(21):
            began = time.monotonic()
            answer = http.get("/api/v1/availability", params=query)
            times.append((time.monotonic() - began) * 1000)
            slots = answer.json() if answer.status_code == 200 else []
        p50, p95 = _percentiles(times[1:])
        print(f"bench: scale_{label}_availability_4weeks_p50 {p50:.0f} ms", flush=True)
        print(f"bench: scale_{label}_availability_4weeks_p95 {p95:.0f} ms", flush=True)
        # A reception is of a matter (422 matter_required without one) open to a leader's slot (not being handled
        # nor concluded): registered, or served with its review window open, or under review, of the leader's county.
        wanted: list[tuple[str, str | int | float | bool | None]] = [("state", s) for s in BOOKABLE]
        found = http.get("/api/v1/matters", params=[*wanted, ("limit", 50)])
        matters = [m["id"] for m in found.json()["items"]] if found.status_code == 200 else []
        if not matters:
            print(f"# scale_{label}_booking no bookable matter in the county: {found.status_code}", flush=True)
            return
        times, statuses = [], set()
        for slot, matter_id in zip(slots[:BOOKINGS + 1], itertools.cycle(matters)):
            began = time.monotonic()
            answer = http.post("/api/v1/sessions", json={"kind": "reception", "leader_id": accounts.leader_id,
                                                         "room_ids": [accounts.room_id], "matter_id": matter_id,
                                                         "start": slot["start"], "end": slot["end"]})
            times.append((time.monotonic() - began) * 1000)
            if answer.status_code != 201 and answer.status_code not in statuses:
                print(f"# scale_{label}_booking {answer.status_code} {answer.text[:200]}", flush=True)
            statuses.add(answer.status_code)
        if len(times) > 1:
            p50, p95 = _percentiles(times[1:])
            print(f"bench: scale_{label}_booking_p50 {p50:.0f} ms", flush=True)
            print(f"bench: scale_{label}_booking_p95 {p95:.0f} ms", flush=True)
        if statuses != {201}:
            print(f"# scale_{label}_booking statuses {sorted(statuses)}", flush=True)


def _live_month(url: str, label: str, today: date, data_dir: Path) -> None:
    """The live month at its end, in process: the last month counted live whole (the worst case, before its finished
    days were stored), then read as on its last day (its finished days stored, the day counted live) right after a
    late event on an earlier day of the month each time (a deadline met late, which drops this process's kept counts
    and marks the month's stored days of the matter's unit)."""
    from sqlalchemy import select

    from vreception.cases import rates
    from vreception.models import Matter, Node

    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    db = Database(url)
    try:
        times = []
        for _ in range(3):
            with db.transaction() as session:
                began = time.monotonic()
                rates.monthly(db=session, month=month, within=Matter.handling_path.startswith("/"))
                times.append((time.monotonic() - began) * 1000)
        p50, p95 = _percentiles(times[1:])
        print(f"bench: scale_{label}_province_rates_whole_month_live_p50 {p50:.0f} ms", flush=True)
        print(f"bench: scale_{label}_province_rates_whole_month_live_p95 {p95:.0f} ms", flush=True)
        with db.transaction() as session:
            root = session.scalars(select(Node.path).where(Node.parent_id.is_(None)).order_by(Node.id)).first()
        _month_end(db, url, label, month, [root or "/"], data_dir)
    finally:
        db.dispose()


ROUNDS_MONTH_END = 12


def _month_end(db: Database, url: str, label: str, month: date, paths: list[str], data_dir: Path) -> None:
    """MONTH read on its last day at 15:00 (this process's clock moved there), each read right after a late event on
    an earlier day of the month: the figures over PATHS, then the province's rates API, dashboard and statistics page
    through the app in this process (its clock is this one)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import delete, select

    from vreception import clock
    from vreception.app import create_app
    from vreception.cases import monthly_figures
    from vreception.config import Settings
    from vreception.models import Deadline, DeadlineState
    from vreception.models.figures import FigureMonth, MonthlyFigure, StaleFigure

    last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    moment = datetime.combine(last, datetime.min.time(), ZoneInfo("Asia/Shanghai")) + timedelta(hours=15)

    def forget_month() -> None:
        # The month's stored counts are a cache: dropped, the next reader of the ended month counts it again.
        with db.transaction() as session:
            for model in (MonthlyFigure, FigureMonth, StaleFigure):
                session.execute(delete(model).where(model.month == month))
        monthly_figures.forget_recent()

    forget_month()
    with db.transaction() as session:
        late = list(session.execute(select(Deadline.id, Deadline.state, Deadline.done_at).where(
            Deadline.kind == "acceptance", Deadline.state != DeadlineState.cancelled,
            Deadline.due_day.between(month + timedelta(days=2), last - timedelta(days=2))).order_by(Deadline.id)
            .limit(4 * ROUNDS_MONTH_END)))
    changes = iter(late)

    def late_event() -> None:
        deadline_id = next(changes)[0]
        with db.transaction() as session:
            found = session.get(Deadline, deadline_id)
            assert found is not None
            # A late event: the period ended (late), or its outcome corrected, on the month's last day.
            found.state = DeadlineState.met if found.state is DeadlineState.missed else DeadlineState.missed
            found.done_at = clock.now()

    times: dict[str, list[float]] = {"figures": [], "rates_api": [], "dashboard": [], "statistics_page": []}
    clock.travel_to(moment, freeze=False)
    try:
        with db.transaction() as session:
            began = time.monotonic()
            monthly_figures.monthly(db=session, month=month, paths=paths)
            stored_ms = (time.monotonic() - began) * 1000
        for _ in range(ROUNDS_MONTH_END if len(late) >= 4 * ROUNDS_MONTH_END else 0):
            late_event()
            with db.transaction() as session:
                began = time.monotonic()
                monthly_figures.monthly(db=session, month=month, paths=paths)
                times["figures"].append((time.monotonic() - began) * 1000)
        settings = Settings(database_url=url, secret_key=SECRET, mode="dev", data_dir=data_dir, job_interval_seconds=0)
        with TestClient(create_app(settings, db)) as http:
            api = {"Authorization": "Bearer " + http.post("/api/v1/auth/login", json={
                "username": "scale.province", "password": province.PASSWORD}).json()["access_token"]}
            found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
            assert found is not None
            http.post("/login", data={"username": "scale.province", "password": province.PASSWORD,
                                      "csrf_token": found.group(1)}, follow_redirects=False)
            for name, path, headers in (("rates_api", f"/api/v1/stats/rates?month={month:%Y-%m}", api),
                                        ("dashboard", "/dashboard", {}),
                                        # the month's statistics, its sessions counted live, on its fullest day
                                        ("statistics_page", "/statistics", {})):
                http.get(path, headers=headers)
                for _ in range(ROUNDS_MONTH_END if times["figures"] else 0):
                    late_event()
                    began = time.monotonic()
                    status = http.get(path, headers=headers).status_code
                    times[name].append((time.monotonic() - began) * 1000)
                    if status != 200:
                        print(f"# scale_{label}_month_end {name} {status}", flush=True)
    finally:
        clock.reset()
        with db.transaction() as session:
            for deadline_id, state, done_at in late:
                found_deadline = session.get(Deadline, deadline_id)
                if found_deadline is not None:
                    found_deadline.state, found_deadline.done_at = state, done_at
        forget_month()
    print(f"bench: scale_{label}_month_to_date_store {stored_ms:.0f} ms", flush=True)
    for name, taken in times.items():
        if taken:
            p50, p95 = _percentiles(taken[1:])
            print(f"bench: scale_{label}_month_end_after_change_{name}_p50 {p50:.0f} ms", flush=True)
            print(f"bench: scale_{label}_month_end_after_change_{name}_p95 {p95:.0f} ms", flush=True)


DAY_EVENTS = 7_000  # a province's day: ~1,400 matters a day at 1M over two years, ~5 audited steps each


def _audit_day(url: str, label: str) -> None:
    """Incremental `audit verify` after a day of activity: from the newest signed checkpoint, DAY_EVENTS appended."""
    from vreception.audit import checkpoints
    from vreception.models import AuditHead

    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    try:
        with db.transaction() as session:
            if checkpoints.newest(db=session) is None:
                # A province loaded before the generator signed its head: anchor it once (the chain was written whole).
                head = session.get(AuditHead, 1)
                assert head is not None
                checkpoints.write(db=session, seq=head.seq, digest=head.hash)
        with db.transaction() as session:
            for n in range(DAY_EVENTS):
                audit.record(db=session, action="bench.day", entity_type="matter", entity_id=n, data={"n": n})
        with db.transaction() as session:
            done = checkpoints.verify(db=session, full=False)
        print(f"bench: scale_{label}_audit_verify_day_events {done.checked} events", flush=True)
        print(f"bench: scale_{label}_audit_verify_day {done.seconds:.2f} s", flush=True)
        if not done.ok:
            print(f"# scale_{label} audit verify failed: {done.problems[:3]}", flush=True)
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--matters", type=int, default=20_000)
    parser.add_argument("--schema", help="the PostgreSQL schema (default vrbench_scale_<size>, e.g. vrbench_scale_1m)")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--load-only", action="store_true", help="load and keep the province, measure nothing")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the province a --keep run left in the schema (migrated to the current "
                             "revision first)")
    args = parser.parse_args(argv)
    schema = args.schema or f"{SCHEMA}_{_label(args.matters)}"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    if args.reuse:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        upgrade(url)
        accounts, args.keep = reused(url), True
        with tempfile.TemporaryDirectory() as tmp, _undone(url):
            measure(url, args.matters, accounts, today, Path(tmp))
        return 0
    fresh = _fresh_schema(schema)
    if fresh is None:
        print("# scale: needs PostgreSQL at " + POSTGRES_URL)
        return 1
    url = fresh
    args.keep = args.keep or args.load_only
    try:
        accounts = load(url, args.matters, today)
        if args.load_only:
            return 0
        with tempfile.TemporaryDirectory() as tmp, _undone(url) if args.keep else nullcontext():
            measure(url, args.matters, accounts, today, Path(tmp))
    finally:
        if not args.keep:
            _drop_schema(schema)
    return 0
