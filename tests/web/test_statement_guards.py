"""The busiest reads send a fixed number of statements, however many sessions and tasks they show (no N+1)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from tests.factories import NOW, SH, add_task, book_session, build_scene, login, page_client
from vreception.cases import monthly_figures
from vreception.models import Matter

# Generous ceilings: the point is that the count does not grow with the rows shown.
CEILING = {"/dashboard": 40, "matter": 40, "/api/v1/sessions": 15}


@pytest.fixture
def scene(app, org, settings, db):
    return build_scene(db, org, settings)


@contextmanager
def counted(db):
    """The statements sent to the database inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _more(db, org, scene, n: int, first: int) -> None:
    """N more sessions of the county leader this week (no matter) and N more tasks on the scene's matter."""
    with db.transaction() as session:
        matter = session.get(Matter, scene.matter)
        for i in range(first, first + n):
            start = datetime(2026, 3, 5 + i // 6, 9, 0, tzinfo=SH) + timedelta(minutes=30 * (i % 6))
            book_session(session, org, kind="consultation", starts_at=start, petitioner=f"来访人{i}", invited=True)
            add_task(session, org, matter, title=f"任务{i}", due_at=NOW + timedelta(days=1 + i))


def test_dashboard_matter_page_and_session_list_do_not_grow_with_rows(app, client, db, org, scene):
    coordinator = page_client(app, "coord.county")
    headers = login(client, "coord.province")

    def measure() -> dict[str, int]:
        out = {}
        for name, fetch in (("/dashboard", lambda: coordinator.get("/dashboard")),
                            ("matter", lambda: coordinator.get(f"/matters/{scene.matter}")),
                            ("/api/v1/sessions", lambda: client.get("/api/v1/sessions", headers=headers))):
            # Counted as a first read: a month counted a moment ago is kept (monthly_figures.recent), with fewer
            # statements, whichever measure comes second.
            monthly_figures.forget_recent()
            with counted(db) as statements:
                assert fetch().status_code == 200
            out[name] = len(statements)
        return out

    _more(db, org, scene, 2, first=0)
    # The current month's finished days are stored by the first read of its figures (monthly_figures), once.
    assert coordinator.get("/dashboard").status_code == 200
    few = measure()
    _more(db, org, scene, 8, first=2)
    many = measure()
    assert client.get("/api/v1/sessions", headers=headers).json()["total"] == 11
    assert many == few, (few, many)
    for name, ceiling in CEILING.items():
        assert many[name] <= ceiling, (name, many[name])
