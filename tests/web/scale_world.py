"""The generated province the scale guards share (bench.province, 20,000 matters on PostgreSQL) and the checks they
make of a request: its status, its statement count, the sequential scans in its statements' plans, the rows one
statement reads. Built once per test worker (tests/web/conftest.py); the guard files are one xdist group.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import event

from bench import province
from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema
from tests.factories import app_settings, csrf_of
from vreception import audit
from vreception.cases import monthly_figures
from vreception.db import Database
from vreception.migrations import upgrade

GROUP = "scale_province"  # the xdist group of every file that reads the province: one worker builds it once
MATTERS = 20_000
SECRET = "t" * 48
TODAY = date(2026, 11, 30)
# The guards read the province on the afternoon of its last day: the live month is its fullest month, and the
# figures do not drift with the date the suite runs on.
AT = datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# The tables that grow with the matters: a page of one county must not read them whole.
LARGE = ("matters", "tasks", "deadlines", "matter_events", "audit_events", "demands", "petitioners",
         "matter_petitioners", "sessions", "participants", "session_events")
PAGE = {"accept": "text/html"}
# The rows one statement of a list may read from a large table: a city's office, a little over the count's cap;
# a county and everyone below, a few times a county's share (about 1/118 of the 20,000 matters, their tasks and
# events; the planner may read the province's few thousand active tasks instead of a county's bitmap). A walk of a
# whole index to count a county's matters reads all 20,000, and fails here. A province's office reads up to the
# cap divided by its filter's share, which at 20,000 is the whole table: only the scan check guards it.
READ_BUDGET: dict[str, int | None] = {"province": None, "city": 12_000}
SMALL_BUDGET = 6_000

Request = tuple[str, str, str, int]  # who, path, "page" or "api", the most statements it may take
Statements = list[tuple[str, Any]]


def build(schema: str | None = None) -> Iterator[tuple[Database, province.Accounts]]:
    """The province in a fresh schema of the test database, analysed; dropped afterwards."""
    schema = schema or f"vrt_scale_{_worker()}"
    url = fresh_postgres_schema(schema)
    upgrade(url)
    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    try:
        with db.transaction() as session:
            accounts, _ = province.build(session, matters=MATTERS, secret=SECRET, today=TODAY, log=lambda _: None)
        with db.engine.connect() as connection:
            # Vacuumed as the benchmark's load is (autovacuum may be off): the visibility map lets the covering indexes
            # answer from the index alone, as they do in the province measured.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in connection.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all():
                connection.exec_driver_sql(f'VACUUM "{table}"')
        with db.engine.begin() as connection:
            # Every row sampled (300 × the target exceeds the largest table, 103,000 audit events): statistics from a
            # random sample let the planner flip between builds, e.g. a county's ended tasks read along the due-time
            # index (9,899 rows) instead of through its matters, about one build in six.
            connection.exec_driver_sql("SET LOCAL default_statistics_target = 1000")
            # This schema's tables only: a database-wide ANALYZE waits on the locks of other tests' schemas.
            for table in connection.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all():
                connection.exec_driver_sql(f'ANALYZE "{table}"')
        yield db, accounts
    finally:
        db.dispose()
        drop_postgres_schema(schema)


def capture() -> tuple[Statements, Callable[..., None]]:
    """A list and the engine listener that appends each SELECT sent (with its parameters) to it."""
    seen: Statements = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    return seen, listener


def seq_scans(db: Database, statements: Statements, tables: Collection[str] = LARGE) -> list[str]:
    """Sequential scans of TABLES in the plans of STATEMENTS ("table: statement")."""
    found = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = json.dumps(cursor.fetchone()[0])
            for table in re.findall(r'"Node Type": "Seq Scan"[^}]*?"Relation Name": "(\w+)"', plan):
                if table in tables:
                    found.append(f"{table}: {statement[:160]}")
    return found


def rows_read(db: Database, statements: Statements) -> dict[str, int]:
    """The most rows any one of STATEMENTS read from each large table (returned or filtered away), run and measured."""
    most: dict[str, int] = {}

    def walk(node: dict) -> None:
        table = node.get("Relation Name")
        if table in LARGE:
            loops = node.get("Actual Loops", 1)
            read = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                    + node.get("Rows Removed by Index Recheck", 0)) * loops
            most[table] = max(most.get(table, 0), read)
        for child in node.get("Plans", ()):
            walk(child)

    with db.engine.connect() as connection:
        for statement, parameters in statements:
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute("EXPLAIN (ANALYZE, TIMING off, FORMAT JSON) " + statement, parameters)
            walk(cursor.fetchone()[0][0]["Plan"])
    return most


def signed_in(client: TestClient, username: str, kind: str) -> dict[str, str]:
    """Sign USERNAME in on CLIENT: a page session (cookies, returns the page headers) or an API bearer token."""
    if kind == "page":
        answer = client.post("/login", data={"username": username, "password": province.PASSWORD,
                                             "csrf_token": csrf_of(client.get("/login", headers=PAGE).text)},
                             headers=PAGE, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return PAGE
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": province.PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def checked(db: Database, tmp_path: Path, accounts: province.Accounts, requests: Iterable[Request], *,
            budget: bool = False, warm: bool = False, scans: Collection[str] = LARGE) -> list[str]:
    """What is wrong with each of REQUESTS: its status, its statement count, its plans' sequential scans of the
    tables SCANS, and with BUDGET the rows one statement reads. WARM: each is sent once before the one checked, so
    what a first read stores (an ended month's figures) is what the checked one reads back, whatever ran before."""
    from vreception.app import create_app

    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    problems = []
    with TestClient(app) as client:
        for who, path, kind, most in requests:
            headers = signed_in(client, accounts.usernames[who], kind)
            if warm and (first := client.get(path, headers=headers)).status_code != 200:
                problems.append(f"{who} {path} (first): {first.status_code}")
            answer, seen = _sent(client, db, path, headers)
            if answer.status_code != 200:
                problems.append(f"{who} {path}: {answer.status_code}")
            if not 0 < len(seen) <= most:
                problems.append(f"{who} {path}: {len(seen)} statements (at most {most})")
            problems += [f"{who} {path}: sequential scan of {scan}" for scan in seq_scans(db, seen, scans)]
            allowed = READ_BUDGET.get(who, SMALL_BUDGET)
            if budget and allowed is not None:
                problems += [f"{who} {path}: read {n} rows of {table} in one statement (at most {allowed})"
                             for table, n in rows_read(db, seen).items() if n > allowed]
    return problems


def _sent(client: TestClient, db: Database, path: str, headers: dict[str, str]) -> tuple[Any, Statements]:
    """The answer to a GET of PATH and the SELECTs it sent, what a read of now keeps for a minute
    (monthly_figures.recent) counted again so that the guard sees it."""
    monthly_figures.forget_recent()
    seen, listener = capture()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        answer = client.get(path, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return answer, seen


def sent(db: Database, tmp_path: Path, accounts: province.Accounts, request: Request) -> Statements:
    """The SELECTs one request sends, after a first one (what a first read stores is read back)."""
    from vreception.app import create_app

    who, path, kind, _ = request
    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    with TestClient(app) as client:
        headers = signed_in(client, accounts.usernames[who], kind)
        assert client.get(path, headers=headers).status_code == 200
        answer, seen = _sent(client, db, path, headers)
        assert answer.status_code == 200
    return seen


def plan_nodes(db: Database, statement: str, parameters: Any, *, index_only: bool = False) -> list[dict[str, Any]]:
    """Every node of STATEMENT's plan, run (EXPLAIN ANALYZE). INDEX_ONLY: planned with every other kind of scan off,
    so that the plan says whether an index answers alone. Whether the planner takes that plan by itself depends on the
    visibility map, which another test worker's open transaction keeps from being set after the build (and on a
    bitmap scan of a few thousand rows costing about the same at 20,000 matters)."""
    out: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        out.append(node)
        for child in node.get("Plans", ()):
            walk(child)

    with db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        if index_only:
            for kind in ("seqscan", "bitmapscan", "indexscan"):
                cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute("EXPLAIN (ANALYZE, TIMING off, FORMAT JSON) " + statement, parameters)
        walk(cursor.fetchone()[0][0]["Plan"])
        connection.connection.driver_connection.rollback()  # the SET LOCAL ends with it
    return out
