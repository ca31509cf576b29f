"""Browsing the audit log: filters, each reader's subtree (an event sits at its actor's node), keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import build_org
from vreception import audit, clock
from vreception.audit import queries
from vreception.audit.queries import EventFilter
from vreception.auth.access import principal_for
from vreception.errors import Forbidden, Invalid
from vreception.models import AuditEvent, Person

T0 = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, after the events of build_org


@pytest.fixture
def world(db):
    org = build_org(db)
    clock.travel_to(T0)
    with db.transaction() as session:
        org.audit_base = session.scalar(select(func.max(AuditEvent.seq)))  # build_org's own events come first
        # (actor key or None, action, object type, object id), one minute apart
        for minute, (who, action, kind, oid) in enumerate((
                ("admin", "node.created", "node", "1"),
                ("coord_county", "matter.registered", "matter", "7"),
                ("leader_county", "matter.accepted", "matter", "7"),
                ("room_township", "session.joined", "session", "3"),
                ("coord_county2", "matter.registered", "matter", "8"),
                (None, "deadline.warned", "matter", "7"),
                ("handler", "task.feedback", "task", "2"))):
            clock.travel_to(T0 + timedelta(minutes=minute))
            audit.record(db=session, action=action, entity_type=kind, entity_id=oid,
                         actor_id=org.people[who].id if who else None)
    clock.travel_to(T0 + timedelta(hours=1))
    return org


ALL = EventFilter(start=T0)  # the world's events, not build_org's


def F(**kw):
    return EventFilter(**{"start": T0, **kw})


def _as(db, org, key, wanted=ALL, **kw):
    with db.transaction() as session:
        principal = principal_for(session.get(Person, org.people[key].id))
        return queries.browse(db=session, principal=principal, wanted=wanted, **kw)


def _seqs(world, page):
    return [e.seq - world.audit_base for e in page.items]


def _actions(page):
    return [e.action for e in page.items]


def test_each_reader_sees_the_events_of_the_people_of_their_subtree_newest_first(db, world):
    everything = _as(db, world, "admin")
    assert everything.total == 7 and _seqs(world, everything) == [7, 6, 5, 4, 3, 2, 1]
    county = _as(db, world, "coord_county")
    # county A, its department and its township; not the province's admin, county B or the jobs
    assert _actions(county) == ["task.feedback", "session.joined", "matter.accepted", "matter.registered"]
    assert county.total == 4 and {e.node_name for e in county.items} >= {"城东区人社局"}
    province = _as(db, world, "coord_province")
    assert province.total == 6 and "deadline.warned" not in _actions(province)  # no actor: administrators only
    with pytest.raises(Forbidden):
        _as(db, world, "leader_county")
    with pytest.raises(Forbidden):
        _as(db, world, "handler")


def test_the_filters_narrow_in_sql(db, world):
    people = world.people
    assert _actions(_as(db, world, "admin", F(who=str(people["leader_county"].id)))) == ["matter.accepted"]
    assert _as(db, world, "admin", F(who="coord_county")).total == 2  # name part: 测试coord_county(2)
    assert _as(db, world, "admin", F(action="matter.")).total == 3
    assert _as(db, world, "admin", F(action="%")).total == 0  # a prefix, not a pattern
    matter7 = _as(db, world, "admin", F(object_type="matter", object_id="7"))
    assert _actions(matter7) == ["deadline.warned", "matter.accepted", "matter.registered"]
    assert matter7.items[0].link == "/matters/7" and matter7.items[0].actor_name is None
    window = F(start=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=4))
    assert _actions(_as(db, world, "admin", window)) == ["session.joined", "matter.accepted"]  # minutes 2 and 3
    township = _as(db, world, "coord_county", F(node_id=world.nodes["township"].id))
    assert _actions(township) == ["session.joined"]
    with pytest.raises(Forbidden):  # a node outside the reader's own subtrees
        _as(db, world, "coord_county", F(node_id=world.nodes["county2"].id))
    with pytest.raises(Invalid):
        _as(db, world, "admin", F(start=datetime(2026, 3, 2)))  # no offset


def test_pages_stay_stable_while_events_are_appended(db, world):
    first = _as(db, world, "admin", limit=3)
    assert _seqs(world, first) == [7, 6, 5] and first.next
    with db.transaction() as session:
        for i in range(4):
            audit.record(db=session, action="test.later", entity_type="thing", entity_id=i,
                         actor_id=world.people["admin"].id)
    second = _as(db, world, "admin", limit=3, cursor=first.next)
    assert _seqs(world, second) == [4, 3, 2] and second.total == 11
    third = _as(db, world, "admin", limit=3, cursor=second.next)
    assert _seqs(world, third) == [1] and third.next is None
    for bad in ("7", "a-1", "a" + "9" * 13, "x7"):
        with pytest.raises(Invalid):
            _as(db, world, "admin", cursor=bad)
