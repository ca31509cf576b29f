"""A generated province of 20,000 matters on PostgreSQL (bench.province): the data is valid, and the heaviest pages
of a county's people read it through indexes (no sequential scan of a large table) in a bounded number of statements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from bench import province
from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema
from tests.factories import app_settings, csrf_of
from vreception import audit
from vreception.cases.identity import Protector, normalize_id_number
from vreception.db import Database
from vreception.migrations import upgrade
from vreception.models import Deadline, Matter, Node, Petitioner, Task

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scale_province")]
MATTERS = 20_000
SECRET = "t" * 48
TODAY = date(2026, 11, 30)
# The tables that grow with the matters: a page of one county must not read them whole.
LARGE = ("matters", "tasks", "deadlines", "matter_events", "audit_events", "demands", "petitioners",
         "matter_petitioners", "sessions", "participants", "session_events")


@pytest.fixture(scope="module")
def generated(postgres_available, tmp_path_factory) -> Iterator[tuple[Database, province.Accounts]]:
    schema = f"vrt_scale_{_worker()}"
    url = fresh_postgres_schema(schema)
    upgrade(url)
    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    try:
        with db.transaction() as session:
            accounts, _ = province.build(session, matters=MATTERS, secret=SECRET, today=TODAY, log=lambda _: None)
        with db.engine.begin() as connection:
            # This schema's tables only: a database-wide ANALYZE waits on the locks of other tests' schemas.
            for table in connection.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all():
                connection.exec_driver_sql(f'ANALYZE "{table}"')
        yield db, accounts
    finally:
        db.dispose()
        drop_postgres_schema(schema)


def test_the_generated_province_is_valid_data(generated):
    db, accounts = generated
    protector = Protector(SECRET)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Node).where(Node.level == "township")) == 1448
        assert session.scalar(select(func.count()).select_from(Matter)) == MATTERS
        tasks = session.scalar(select(func.count()).select_from(Task))
        assert 2.0 <= tasks / MATTERS <= 2.6, tasks
        # Every ID number decrypts to a valid one (check digit) whose keyed hash is the stored one.
        for person in session.scalars(select(Petitioner).order_by(Petitioner.id).limit(200)):
            number = protector.decrypt(person.id_cipher)
            assert normalize_id_number(number, field="id") == number
            assert protector.lookup_hash(number) == person.id_hash and number.endswith(person.id_tail)
        # Paths copied into matters and tasks are their nodes' paths.
        wrong = session.scalar(select(func.count()).select_from(Matter).join(Node, Node.id == Matter.handling_node_id)
                               .where(Matter.handling_path != Node.path))
        assert wrong == 0
        # Due days come from the calendar: an acceptance period ends 15 days after its start, or later off a holiday.
        spans = session.execute(select(Deadline.start_day, Deadline.due_day).where(Deadline.kind == "acceptance")
                                .limit(500)).all()
        assert all(timedelta(days=15) <= due - start <= timedelta(days=25) for start, due in spans)
        assert audit.verify(db=session).ok
    # The petitioner's lookup works on a generated matter with its query code.
    assert accounts.lookup_number and accounts.lookup_code


def _statements(db: Database) -> tuple[list[tuple[str, object]], object]:
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    return seen, capture


def _scans(db: Database, statements: list[tuple[str, object]]) -> list[str]:
    """Sequential scans of large tables in the plans of STATEMENTS."""
    found = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = json.dumps(cursor.fetchone()[0])
            for table in re.findall(r'"Node Type": "Seq Scan"[^}]*?"Relation Name": "(\w+)"', plan):
                if table in LARGE:
                    found.append(f"{table}: {statement[:160]}")
    return found


# Who, path, page or API, and the most statements the request may take.
PAGES = (
    ("county", "/dashboard", "page", 35),
    ("handler", "/tasks", "page", 15),
    ("handler", "/api/v1/tasks", "api", 8),
    ("leader", "/agenda", "page", 15),
    ("county", "/api/v1/stats/rates?month=2026-10", "api", 15),
)


def _signed_in(client: TestClient, username: str, kind: str) -> dict[str, str]:
    if kind == "page":
        answer = client.post("/login", data={"username": username, "password": province.PASSWORD,
                                             "csrf_token": csrf_of(client.get("/login", headers=PAGE).text)},
                             headers=PAGE, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return PAGE
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": province.PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


PAGE = {"accept": "text/html"}


def _rows_read(db: Database, statements: list[tuple[str, object]]) -> dict[str, int]:
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


# The rows one statement of a list may read from a large table: a city's office, a little over the count's cap;
# a county and everyone below, a few times a county's share (about 1/118 of the 20,000 matters, their tasks and
# events; the planner may read the province's few thousand active tasks instead of a county's bitmap). A walk of a
# whole index to count a county's matters reads all 20,000, and fails here. A province's office reads up to the
# cap divided by its filter's share, which at 20,000 is the whole table: only the scans above guard it.
READ_BUDGET: dict[str, int | None] = {"province": None, "city": 12_000}
SMALL_BUDGET = 6_000


def _checked(db: Database, tmp_path, accounts: province.Accounts, pages, *, budget: bool = False) -> list[str]:
    """What is wrong with each request of PAGES: its status, its statement count, its plans' sequential scans."""
    from vreception.app import create_app

    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    problems = []
    with TestClient(app) as client:
        for who, path, kind, most in pages:
            headers = _signed_in(client, accounts.usernames[who], kind)
            seen, capture = _statements(db)
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                answer = client.get(path, headers=headers)
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            if answer.status_code != 200:
                problems.append(f"{who} {path}: {answer.status_code}")
            if not 0 < len(seen) <= most:
                problems.append(f"{who} {path}: {len(seen)} statements (at most {most})")
            problems += [f"{who} {path}: sequential scan of {scan}" for scan in _scans(db, seen)]
            most = READ_BUDGET.get(who, SMALL_BUDGET)
            if budget and most is not None:
                problems += [f"{who} {path}: read {n} rows of {table} in one statement (at most {most})"
                             for table, n in _rows_read(db, seen).items() if n > most]
    return problems


def test_county_pages_read_through_indexes_in_few_statements(generated, tmp_path):
    db, accounts = generated
    # An ended month is counted once over the whole province and stored (vreception/cases/monthly_figures.py);
    # what a county reads every day afterwards is the stored month, which is what is guarded here.
    _checked(db, tmp_path, accounts, [("county", "/api/v1/stats/rates?month=2026-10", "api", 10_000)])
    assert _checked(db, tmp_path, accounts, PAGES) == []
    with db.engine.connect() as connection:  # the schema holds the province, not a test's leftovers
        assert connection.execute(text("SELECT count(*) FROM matters")).scalar() == MATTERS


def _lists(accounts: province.Accounts) -> list[tuple[str, str, str, int]]:
    number = accounts.lookup_number
    prefix = number[: len(number) - 3]  # the office, the year and the first digits of the sequence
    out = []
    for who in ("province", "city", "county"):
        for query in ("", "?state=accepted", f"?number={number}", f"?number={prefix}", "?state=closed&sort=received_desc"):
            out.append((who, f"/matters{query}", "page", 16))
            out.append((who, f"/api/v1/matters{query}", "api", 12))
    out += [("leader", "/matters", "page", 16), ("leader", "/api/v1/matters", "api", 12),
            ("handler", "/api/v1/tasks?state=closed", "api", 8), ("county", "/api/v1/tasks", "api", 10),
            ("county", "/tasks", "page", 16), ("county", "/api/v1/sessions", "api", 12),
            ("city", "/api/v1/tasks", "api", 10), ("province", "/api/v1/tasks", "api", 10),
            ("county", "/api/v1/audit-events", "api", 8), ("province", "/api/v1/audit-events", "api", 8),
            ("city", "/api/v1/audit-events?action=matter.", "api", 8),
            ("province", "/api/v1/audit-events?action=matter.", "api", 8)]
    return out


def test_every_list_reads_through_indexes_and_counts_at_most_the_cap(generated, tmp_path):
    """Matters (default, by state, by number, ended first), tasks, sessions and audit events of a province, a city,
    a county, a leader and a handler: no sequential scan of a growing table, a bounded number of statements, and no
    statement reading more rows of one than the reader's share (or the count's cap)."""
    db, accounts = generated
    problems = _checked(db, tmp_path, accounts, _lists(accounts), budget=True)
    assert not problems, "\n".join(problems)


def test_a_province_list_counts_to_the_cap_and_pages_by_keys(generated, tmp_path):
    from vreception.app import create_app

    db, accounts = generated
    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    with TestClient(app) as client:
        headers = _signed_in(client, accounts.usernames["province"], "api")
        first = client.get("/api/v1/matters?limit=100", headers=headers).json()
        # 20,000 matters: the count stops at the cap and says so; the page shows open matters first.
        assert first["total"] == 10_000 and first["total_capped"] is True
        states = [m["state"] for m in first["items"]]
        assert "closed" not in states and len(states) == 100
        second = client.get(f"/api/v1/matters?limit=100&cursor={first['next']}", headers=headers).json()
        assert not {m["id"] for m in first["items"]} & {m["id"] for m in second["items"]}
        county = _signed_in(client, accounts.usernames["county"], "api")
        small = client.get("/api/v1/matters?state=accepted", headers=county).json()
        assert "total_capped" not in small and small["total"] < 10_000
        page = client.get("/matters", headers=_signed_in(client, accounts.usernames["province"], "page"))
        assert "10000+" in page.text
