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
            connection.exec_driver_sql("ANALYZE")
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
        assert audit.verify(session).ok
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


# Who, path, page or API, and the most statements the request may take. Not guarded yet (issue 16): the matters
# list and its API, whose access rule is an OR of path, owner and EXISTS arms that PostgreSQL cannot combine
# through indexes, so it scans the matters table for the page's count.
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


def test_county_pages_read_through_indexes_in_few_statements(generated, tmp_path):
    db, accounts = generated
    from vreception.app import create_app

    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    problems = []
    with TestClient(app) as client:
        for who, path, kind, most in PAGES:
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
    assert problems == []
    with db.engine.connect() as connection:  # the schema holds the province, not a test's leftovers
        assert connection.execute(text("SELECT count(*) FROM matters")).scalar() == MATTERS
