"""The test harness's build_org written back from its first build (tests/factories.py) leaves the database as a build
through the services does: the same rows in every table, the same ids, an audit chain that verifies, and ids that go
on from there."""

from __future__ import annotations

from sqlalchemy import select

from tests import factories
from tests.conftest import reset
from vreception import audit
from vreception.db import Base
from vreception.models import Node


def _rows(db) -> dict[str, list[dict]]:
    with db.engine.connect() as connection:
        return {t.name: [dict(r._mapping) for r in connection.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables}


def test_build_org_written_back_is_the_build(db):
    factories._ORG_ROWS.pop(id(db), None)  # the next build goes through the services
    built = factories.build_org(db)
    assert id(db) in factories._ORG_ROWS
    through_services = _rows(db)
    reset(db)
    written = factories.build_org(db)
    assert _rows(db) == through_services
    assert {k: n.id for k, n in written.nodes.items()} == {k: n.id for k, n in built.nodes.items()}
    assert {k: p.id for k, p in written.people.items()} == {k: p.id for k, p in built.people.items()}
    assert written.nodes["county"].path == built.nodes["county"].path
    with db.transaction() as s:
        assert audit.verify(db=s).ok
        node = Node(code="580102002", name="新河街道", level="township", kind="region",
                    parent_id=written.nodes["county"].id, path="")
        s.add(node)
        s.flush()
        assert node.id == max(n.id for n in built.nodes.values()) + 1  # the id sequence goes on after the org
