"""The SQL forms of the access rules (cases.access.readable, tasks.access.visible, scheduling.access.visible) select
exactly what the per-object rules allow, for every account, on SQLite and PostgreSQL; and the keyset cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from scheduling import access as session_access
from tests.factories import add_task, build_world, session_row
from vreception import clock
from vreception.auth.access import principal_for
from vreception.cases import access as matter_access
from vreception.cases import confidential
from vreception.errors import Invalid
from vreception.models import Matter, Node, Person, Task
from vreception.models.scheduling import ReceptionSession
from vreception.paging import decode_keys, encode_keys
from vreception.tasks import access as task_access


@pytest.fixture
def world(db, org, settings):
    built = build_world(db, org, settings)
    with db.transaction() as session:
        matter = session.get(Matter, built.scene.matter)
        # A task of county B's unit on county A's matter, and the matter transferred to county B: the sending office
        # keeps reading it, county B's office and unit gain it.
        add_task(session, org, matter, title="异地核查", due_at=clock.now() + timedelta(days=3), unit="county2_dept")
        matter.transferred_from_node_id = matter.handling_node_id
        county2 = session.get(Node, org.nodes["county2"].id)
        matter.handling_node_id, matter.handling_path = county2.id, county2.path
        session_row(session, org, starts_at=datetime(2026, 3, 5, 1, 0, tzinfo=UTC), leader="leader_city")
    return built


def test_each_sql_rule_selects_what_the_object_rule_allows(db, org, world):
    with db.transaction() as session:
        matters = list(session.scalars(select(Matter)))
        tasks = list(session.scalars(select(Task)))
        bookings = list(session.scalars(select(ReceptionSession)))
        assert len(matters) >= 1 and len(tasks) >= 2 and len(bookings) >= 3
        for key, person in org.people.items():
            principal = principal_for(session.get(Person, person.id))
            readable = set(session.scalars(select(Matter.id).where(matter_access.readable(principal))))
            expected = {m.id for m in matters if matter_access.can_read(principal, m, db=session)
                        and not confidential.accused_unit_excluded(principal, m)}
            assert readable == expected, key
            visible = set(session.scalars(select(Task.id).where(task_access.visible(principal))))
            assert visible == {t.id for t in tasks if task_access.can_see(principal, t, db=session)}, key
            seen = set(session.scalars(select(ReceptionSession.id).where(session_access.visible(principal))))
            assert seen == {b.id for b in bookings if session_access.can_see(principal, b)}, key


def test_an_arm_of_ids_is_an_array_an_index_takes_on_postgresql():
    condition = matter_access.among(Matter.id, select(Task.matter_id), select(ReceptionSession.matter_id))
    assert "= ANY(ARRAY(SELECT" in str(condition.compile(dialect=postgresql.dialect()))
    on_sqlite = str(select(Matter.id).where(condition | (Matter.id == 1)).compile(dialect=sqlite.dialect()))
    assert "matters.id IN (SELECT" in on_sqlite and "= 1 OR" not in on_sqlite  # no "= 1" after a boolean arm


def test_keyset_cursors_round_trip_and_refuse_anything_else():
    moment = datetime(2026, 3, 10, 15, 59, 59, 123456, tzinfo=UTC)
    cursor = encode_keys("ta", [moment, 42])
    assert decode_keys("ta", cursor, 2) == [moment, 42] and len(cursor) <= 40
    assert decode_keys("dd", encode_keys("dd", [date(2026, 3, 1), 7]), 2) == [date(2026, 3, 1), 7]
    for bad in ("x", "-2", "td.t1.i2", "ta.t1", "ta.t1.i2.i3", "ta.x1.i2", "ta.t1.i" + "9" * 30, "ta.tï.i1"):
        with pytest.raises(Invalid) as refused:
            decode_keys("ta", bad, 2)
        assert refused.value.field == "cursor"
