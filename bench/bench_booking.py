"""Booking at province scale: availability latency over a month, and booking throughput, on PostgreSQL and SQLite.

The data set (bulk-inserted, no password hashing): 16 cities, 160 counties, 2,000 townships, 2,160 rooms,
500 leaders with reception plans (rotations, weekly half-days, the 15th of the month), and the first
slot of every reception window of March 2026 already booked.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import insert, text

from scheduling import availability, booking
from scheduling.claims import leader_key, room_key
from scheduling.errors import BookingConflict
from scheduling.plans import occurrences
from scheduling.policy import Policy, quanta
from vreception import clock
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models.cases import Matter
from vreception.models.org import Node, Room
from vreception.models.people import Person, RoleAssignment
from vreception.models.scheduling import (
    Claim,
    Participant,
    PlanLeader,
    ReceptionPlan,
    ReceptionSession,
)
from vreception.workdays import load_calendar

POSTGRES_URL = os.environ.get("VRECEPTION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CITIES, COUNTIES_PER_CITY, TOWNSHIPS_PER_COUNTY = 16, 10, 12  # 160 counties, 1,920 townships (+80 below)
EXTRA_TOWNSHIPS = 80
MONTH_FIRST, MONTH_LAST = date(2026, 3, 1), date(2026, 3, 31)
NOW = datetime(2026, 2, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, well before the month's cut-offs
POLICY = Policy()
QUERIES = 300
CLIENTS = 4


def _build(db: Database) -> dict:
    """Bulk-insert the province; returns what the measurements need."""
    nodes, rooms, people, roles, plans, plan_leaders, matters = [], [], [], [], [], [], []
    ids = defaultdict(int)

    def next_id(table):
        ids[table] += 1
        return ids[table]

    def node(code, name, level, parent):
        nid = next_id("nodes")
        path = f"{parent['path'] if parent else '/'}{nid}/"
        row = {"id": nid, "code": code, "name": name, "level": level, "kind": "region",
               "parent_id": parent["id"] if parent else None, "path": path, "created_at": NOW}
        nodes.append(row)
        return row

    def room(at):
        rid = next_id("rooms")
        rooms.append({"id": rid, "node_id": at["id"], "name": f"{at['name']}视频接访室", "active": True, "created_at": NOW})
        return rid

    def leader(at, title):
        pid = next_id("people")
        people.append({"id": pid, "name": f"{at['name']}{title}", "title": title, "node_id": at["id"], "email": "",
                       "active": True, "created_at": NOW})
        roles.append({"id": next_id("roles"), "person_id": pid, "role": "leader", "node_id": at["id"]})
        return pid

    def plan(at, kind, leader_ids, **fields):
        plan_id = next_id("plans")
        base = {"day_of_month": None, "weekday": None}
        plans.append({"id": plan_id, "node_id": at["id"], "kind": kind, "starts": clock_time(9), "ends": clock_time(12),
                      "slot_minutes": 30, "buffer_minutes": 0, "scope": "综合", "valid_from": date(2026, 1, 1),
                      "valid_until": None, "active": True, "created_at": NOW, **base, **fields})
        plan_leaders.extend({"plan_id": plan_id, "position": i, "leader_id": lid} for i, lid in enumerate(leader_ids))

    province = node("580000", "省", "province", None)
    for i in range(4):
        plan(province, "weekly", [leader(province, f"副省长{i}")], weekday=i)
    county_info = []
    extra = EXTRA_TOWNSHIPS
    for c in range(CITIES):
        city = node(f"58{c + 1:02d}00", f"市{c}", "city", province)
        plan(city, "monthly_day", [leader(city, "市长")], day_of_month=15)
        for k in range(COUNTIES_PER_CITY):
            county = node(f"58{c + 1:02d}{k + 1:02d}", f"市{c}县{k}", "county", city)
            room(county)
            towns = TOWNSHIPS_PER_COUNTY + (1 if extra > 0 else 0)
            extra -= 1
            town_rooms, town_ids = [], []
            for t in range(towns):
                town = node(f"58{c + 1:02d}{k + 1:02d}{t + 1:03d}", f"市{c}县{k}镇{t}", "township", county)
                town_rooms.append(room(town))
                town_ids.append(town["id"])
            leaders = [leader(county, "县委书记"), leader(county, "县长"), leader(county, "副县长")]
            plan(county, "rotation", leaders[:2])
            plan(county, "weekly", leaders[2:], weekday=k % 5)
            mid = next_id("matters")
            matters.append({"id": mid, "number": f"B2026-{mid:06d}", "query_code_hash": "x" * 64,
                            "origin_node_id": town_ids[0], "handling_node_id": county["id"], "handling_path": county["path"],
                            "channel": "video", "state": "registered", "is_group": False, "possible_repeat": False,
                            "extended": False, "hearing_days": 0, "received_at": NOW, "registered_at": NOW})
            county_info.append({"leaders": leaders, "rooms": town_rooms, "matter": mid})

    with db.transaction() as session:
        for model, rows in ((Node, nodes), (Room, rooms), (Person, people), (RoleAssignment, roles),
                            (ReceptionPlan, plans), (PlanLeader, plan_leaders), (Matter, matters)):
            session.execute(insert(model), rows)
    leader_rooms = {lid: info for info in county_info for lid in info["leaders"]}
    return {"counties": county_info, "leader_rooms": leader_rooms, "leaders": len(people), "rooms": len(rooms)}


def _prefill(db: Database, data: dict) -> tuple[int, list[tuple]]:
    """Book the first slot of every county reception window in March; return the other slots as tasks."""
    sessions, participants, claims, tasks = [], [], [], []
    with db.transaction() as session:
        from sqlalchemy import select

        plan_rows = list(session.scalars(select(ReceptionPlan)))
        found = occurrences(db=session, plans=plan_rows, calendar=load_calendar(db=session), policy=POLICY,
                            first=MONTH_FIRST, last=MONTH_LAST)
        for sid, occ in enumerate((o for o in found if o.leader_id in data["leader_rooms"]), start=1):
            info = data["leader_rooms"][occ.leader_id]
            start, end = occ.starts_at, occ.starts_at + timedelta(minutes=30)
            room_id = info["rooms"][sid % len(info["rooms"])]
            sessions.append({"id": sid, "kind": "reception", "state": "booked", "leader_id": occ.leader_id,
                             "matter_id": info["matter"], "plan_id": occ.plan.id, "node_path": "/", "starts_at": start,
                             "ends_at": end, "buffer_minutes": 0, "ad_hoc": False, "invited": False, "reason": "",
                             "override_reason": "", "booked_at": NOW, "version": 0})
            participants += [{"session_id": sid, "role": "leader", "person_id": occ.leader_id, "name": "", "node_path": "/"},
                             {"session_id": sid, "role": "room", "room_id": room_id, "name": "", "node_path": "/"}]
            claims += [{"resource": key, "slot": q, "session_id": sid}
                       for key in (leader_key(occ.leader_id), room_key(room_id)) for q in quanta(POLICY, start, end)]
            for j in range(1, 6):
                s = occ.starts_at + timedelta(minutes=30 * j)
                tasks.append((occ.leader_id, s, s + timedelta(minutes=30)))
        session.execute(insert(ReceptionSession), sessions)
        session.execute(insert(Participant), participants)
        session.execute(insert(Claim), claims)
    if db.backend == "postgresql":
        with db.engine.begin() as connection:
            for table in ("nodes", "rooms", "people", "role_assignments", "reception_plans", "matters", "sessions"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
    return len(sessions), tasks


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _availability(db: Database, data: dict, rng: random.Random) -> list[float]:
    first = datetime(2026, 3, 1, tzinfo=POLICY.zone)
    last = datetime(2026, 4, 1, tzinfo=POLICY.zone)
    timings = []
    for _ in range(QUERIES):
        info = rng.choice(data["counties"])
        leader_id, room_id = rng.choice(info["leaders"]), rng.choice(info["rooms"])
        started = time.perf_counter()
        with db.transaction() as session:
            availability.free_slots(db=session, policy=POLICY, leader_id=leader_id, room_id=room_id, first=first,
                                    last=last, now=NOW)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _book(db: Database, job: tuple, *, commit: bool = True) -> None:
    leader_id, room_id, matter_id, start, end = job
    with db.sessionmaker() as session:
        try:
            booking.book(db=session, policy=POLICY, kind="reception", leader_id=leader_id, room_ids=[room_id],
                         matter_id=matter_id, starts_at=start, ends_at=end,
                         participants=[booking.ParticipantSpec("petitioner", name="信访人")],
                         coordinator=True, now=NOW)
            if commit:
                session.commit()
        finally:
            session.rollback()


def _backend_cpu(db: Database) -> tuple[int | None, float]:
    """This client's database server process and its CPU seconds so far (PostgreSQL on this host only)."""
    if db.backend != "postgresql":
        return None, 0.0
    with db.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    return pid, _proc_cpu(pid)


def _proc_cpu(pid: int | None) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):  # the server runs elsewhere: not measured
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client(url: str, jobs: list[tuple], barrier) -> tuple[float, float, int, int, float, float]:
    """One client process: book JOBS one transaction each.

    (first start, last end, booked, conflicts, client CPU s, database backend CPU s). The clock starts
    when every client is ready: a process started, connected and with its statements compiled, as a
    long-running server is (the warm-up books the first job and rolls it back).
    """
    db = Database(url, **({"pool_size": 1, "max_overflow": 0} if url.startswith("postgresql") else {}))
    clock.travel_to(NOW)
    ok = conflicts = 0
    try:
        try:
            try:
                _book(db, jobs[0], commit=False)
            except BookingConflict:
                pass
            pid, backend_before = _backend_cpu(db)
        except BaseException:
            barrier.abort()  # the other clients stop waiting for this one
            raise
        barrier.wait(timeout=600)
        started, cpu = time.time(), time.process_time()
        for job in jobs:
            try:
                _book(db, job)
                ok += 1
            except BookingConflict:
                conflicts += 1
        ended, cpu = time.time(), time.process_time() - cpu
        backend = _proc_cpu(pid) - backend_before if pid else 0.0
    finally:
        db.dispose()
    return started, ended, ok, conflicts, cpu, backend


def _throughput(url: str, data: dict, tasks: list[tuple], count: int) -> tuple[float, int, int, float, float]:
    """Book COUNT free slots from CLIENTS processes (clients of the database, as server processes are).

    (bookings/s, booked, conflicts, client CPU ms per booking, database backend CPU ms per booking).
    """
    chosen = tasks[:: max(1, len(tasks) // count)][:count]
    used: dict[datetime, set] = defaultdict(set)
    jobs = []
    for leader_id, start, end in chosen:
        info = data["leader_rooms"][leader_id]
        room_id = next(r for r in info["rooms"] if r not in used[start])  # no two bookings share a room and time
        used[start].add(room_id)
        jobs.append((leader_id, room_id, info["matter"], start, end))
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(CLIENTS, mp_context=context) as pool:
        barrier = manager.Barrier(CLIENTS)
        results = list(pool.map(_client, [url] * CLIENTS, [jobs[i::CLIENTS] for i in range(CLIENTS)],
                                [barrier] * CLIENTS))
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    ok, conflicts = sum(r[2] for r in results), sum(r[3] for r in results)
    done = max(1, ok + conflicts)
    return (ok / elapsed, ok, conflicts, 1000 * sum(r[4] for r in results) / done,
            1000 * sum(r[5] for r in results) / done)


def _run(label: str, url: str, bookings: int) -> None:
    upgrade(url)
    db = Database(url, **({"pool_size": CLIENTS + 2} if url.startswith("postgresql") else {}))
    try:
        clock.travel_to(NOW)
        started = time.perf_counter()
        data = _build(db)
        prefilled, tasks = _prefill(db, data)
        print(f"# {label}: {data['rooms']} rooms, {data['leaders']} leaders with plans, {prefilled} sessions "
              f"prefilled, built in {time.perf_counter() - started:.1f} s", flush=True)
        timings = _availability(db, data, random.Random(7))
        print(f"bench: availability_month_p50_{label} {statistics.median(timings):.1f} ms")
        print(f"bench: availability_month_p95_{label} {_percentile(timings, 95):.1f} ms")
        rate, ok, conflicts, client_cpu, backend_cpu = _throughput(url, data, tasks, bookings)
        print(f"bench: booking_throughput_{label} {rate:.0f} bookings/s")
        print(f"# {label}: {ok} booked, {conflicts} conflicts, {CLIENTS} concurrent client processes; "
              f"CPU per booking: client {client_cpu:.2f} ms"
              + (f", database server process {backend_cpu:.2f} ms" if label == "postgresql" else "")
              + f" ({os.cpu_count()} cores)", flush=True)
    finally:
        clock.reset()
        db.dispose()


def _fresh_schema(schema: str) -> str:
    """Drop and create SCHEMA in the PostgreSQL database; its URL."""
    admin = Database(POSTGRES_URL, pool_size=1)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def main() -> None:
    """Print availability latency and booking throughput on PostgreSQL and SQLite."""
    try:
        pg_url = _fresh_schema("vrbench_booking")
    except Exception as exc:  # no server: say so and still measure SQLite
        print(f"# postgresql unavailable: {exc!r}")
        pg_url = None
    if pg_url:
        _run("postgresql", pg_url, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        _run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", 1000)


if __name__ == "__main__":
    main()
