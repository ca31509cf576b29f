"""A generated province of 20,000 matters on PostgreSQL (bench.province): the data is valid, and the heaviest pages
of a county's people read it through indexes (no sequential scan of a large table) in a bounded number of statements.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, func, select, text

from bench import province
from tests.factories import app_settings
from tests.web.scale_world import GROUP, MATTERS, SECRET, checked, plan_nodes, sent, signed_in
from vreception import audit
from vreception.cases.identity import Protector, normalize_id_number
from vreception.models import AuditEvent, Deadline, Matter, Node, Person, Petitioner, RoleAssignment, Room, Task

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(GROUP)]


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
        # The organisation written in bulk is what the services write: a node's path is its parent's and its id,
        # and every node, room, person and role has its audit event.
        parent = Node.__table__.alias("parent")
        assert session.scalar(select(func.count()).select_from(Node).join(parent, parent.c.id == Node.parent_id)
                              .where(Node.path != parent.c.path + func.cast(Node.id, String) + "/")) == 0
        created = dict(session.execute(select(AuditEvent.action, func.count()).where(AuditEvent.action.in_(
            ("node.created", "room.created", "person.created", "role.assigned"))).group_by(AuditEvent.action)).all())
        assert created == {"node.created": session.scalar(select(func.count()).select_from(Node)),
                           "room.created": session.scalar(select(func.count()).select_from(Room)),
                           "person.created": session.scalar(select(func.count()).select_from(Person)),
                           "role.assigned": session.scalar(select(func.count()).select_from(RoleAssignment))}
        # Due days come from the calendar: an acceptance period ends 15 days after its start, or later off a holiday.
        spans = session.execute(select(Deadline.start_day, Deadline.due_day).where(Deadline.kind == "acceptance")
                                .limit(500)).all()
        assert all(timedelta(days=15) <= due - start <= timedelta(days=25) for start, due in spans)
        assert audit.verify(db=session).ok
    # The petitioner's lookup works on a generated matter with its query code.
    assert accounts.lookup_number and accounts.lookup_code


# Who, path, page or API, and the most statements the request may take.
PAGES = (
    ("county", "/dashboard", "page", 35),
    ("handler", "/tasks", "page", 15),
    ("handler", "/api/v1/tasks", "api", 8),
    ("leader", "/agenda", "page", 15),
    ("county", "/api/v1/stats/rates?month=2026-10", "api", 15),
    ("province", "/dashboard", "page", 35),
    # The summary's current month: one statement more finds its finished days stored (monthly_figures._to_date).
    ("county", "/api/v1/stats/summary", "api", 21),
)
# A province's figures: the live month and the overdue deadlines, each counted once per request (the statistics page
# shares them with its trend and its overdue units). Its month of registrations, demands and sessions is a twentieth
# of a 20,000-matter province, which the planner rightly reads whole; the matters' and deadlines' tables it must not.
PROVINCE_FIGURES = (
    ("province", "/statistics", "page", 30),
    # An ended month: its rates and registrations read from their stored rows (stored by the warm-up read).
    ("province", "/statistics?from=2026-10&to=2026-10", "page", 30),
    ("province", "/api/v1/stats/trend", "api", 20),
)


def test_county_pages_read_through_indexes_in_few_statements(generated, tmp_path):
    db, accounts = generated
    # An ended month is counted once over the whole province and stored (vreception/cases/monthly_figures.py);
    # what a county reads every day afterwards is the stored month: each page is read twice, the second guarded.
    problems = checked(db, tmp_path, accounts, PAGES, warm=True)
    assert problems == [], "\n".join(problems)
    with db.engine.connect() as connection:  # the schema holds the province, not a test's leftovers
        assert connection.execute(text("SELECT count(*) FROM matters")).scalar() == MATTERS


def test_a_province_figures_read_matters_and_deadlines_through_indexes(generated, tmp_path):
    db, accounts = generated
    problems = checked(db, tmp_path, accounts, PROVINCE_FIGURES, warm=True,
                       scans=("matters", "deadlines", "matter_events", "tasks"))
    assert problems == [], "\n".join(problems)


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
            ("city", "/api/v1/sessions", "api", 12),
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
    problems = checked(db, tmp_path, accounts, _lists(accounts), budget=True)
    assert not problems, "\n".join(problems)


def test_a_province_list_counts_to_the_cap_and_pages_by_keys(generated, tmp_path):
    from vreception.app import create_app

    db, accounts = generated
    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    with TestClient(app) as client:
        headers = signed_in(client, accounts.usernames["province"], "api")
        first = client.get("/api/v1/matters?limit=100", headers=headers).json()
        # 20,000 matters: the count stops at the cap and says so; the page shows open matters first.
        assert first["total"] == 10_000 and first["total_capped"] is True
        states = [m["state"] for m in first["items"]]
        assert "closed" not in states and len(states) == 100
        second = client.get(f"/api/v1/matters?limit=100&cursor={first['next']}", headers=headers).json()
        assert not {m["id"] for m in first["items"]} & {m["id"] for m in second["items"]}
        county = signed_in(client, accounts.usernames["county"], "api")
        small = client.get("/api/v1/matters?state=accepted", headers=county).json()
        assert "total_capped" not in small and small["total"] < 10_000
        page = client.get("/matters", headers=signed_in(client, accounts.usernames["province"], "page"))
        assert "10000+" in page.text


def test_a_province_office_sessions_list_reads_through_indexes(generated, tmp_path):
    """Keyset pages and a capped count along the start-time index, however many sessions the province holds."""
    db, accounts = generated
    problems = checked(db, tmp_path, accounts, [("province", "/api/v1/sessions", "api", 12)])
    assert not problems, "\n".join(problems)


def test_the_audit_page_says_its_count_stopped_at_the_cap(generated, tmp_path):
    from vreception.app import create_app

    db, accounts = generated
    app = create_app(app_settings(db, tmp_path / "var", secret_key=SECRET), db)
    with TestClient(app) as client:
        page = client.get("/admin/audit", headers=signed_in(client, accounts.usernames["province"], "page"))
        assert page.status_code == 200 and 'data-total="10000"' in page.text
        assert "共 10000+ 条" in page.text


def _reads(nodes: list[dict], table: str) -> list[dict]:
    return [n for n in nodes if n.get("Relation Name") == table]


@pytest.mark.parametrize("who", ["province", "county"])
def test_a_dashboard_counts_its_due_tasks_from_the_index_alone(generated, tmp_path, who):
    """The overdue and due-soon counts can walk the active tasks' due-time index alone, which carries each one's unit
    path and matter (0026; a province's 8,800 overdue tasks took 85 ms of page reads at a million matters without),
    and a county's matters are hashed once, not searched as an array for every task (345 ms)."""
    db, accounts = generated
    seen = sent(db, tmp_path, accounts, (who, "/dashboard", "page", 0))
    counts = [(s, p) for s, p in seen if "count(*)" in s and "FROM tasks" in s]
    assert len(counts) == 2, [s[:120] for s, _ in seen]
    for statement, parameters in counts:
        tasks = _reads(plan_nodes(db, statement, parameters, index_only=True), "tasks")
        assert tasks and all(n["Node Type"] == "Index Only Scan" and n["Index Name"] == "ix_tasks_active_due"
                             for n in tasks), tasks
        assert not any("ANY" in n.get("Filter", "") for n in tasks), tasks

