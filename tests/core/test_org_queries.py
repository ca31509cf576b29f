"""The organisation reads for a principal: nodes, leaders and rooms in their care, filtered in SQL."""

from __future__ import annotations

from vreception.auth.access import principal_for
from vreception.models import NodeKind, Person, Role
from vreception.org import queries


def _principal(session, org, key):
    return principal_for(session.get(Person, org.people[key].id))


def test_office_nodes_are_the_coordinators_subtree(db, org):
    with db.transaction() as session:
        county = _principal(session, org, "coord_county")
        # By code; the two backends' collations may order "580102-RSJ" and "580102001" either way.
        assert {n.name for n in queries.office_nodes(county, db=session)} == {"城东区", "桃源镇", "城东区人社局"}
        assert [n.name for n in queries.office_nodes(county, NodeKind.department, db=session)] == ["城东区人社局"]
        assert [n.name for n in queries.office_nodes(county, db=session, limit=1)] == ["城东区"]
        assert queries.office_nodes(_principal(session, org, "leader_county"), db=session) == []


def test_leaders_in_a_subtree_and_those_one_may_book_upward(db, org):
    with db.transaction() as session:
        county, county2, province = (_principal(session, org, k) for k in ("coord_county", "coord_county2",
                                                                            "coord_province"))
        assert [p.name for p in queries.leaders_in(county, db=session)] == ["测试leader_county"]
        assert [p.name for p in queries.leaders_in(province, db=session)] == ["测试leader_city", "测试leader_county"]
        assert queries.leaders_in(county2, db=session) == []
        # A coordinator books the leaders below and on the chain above, never a neighbour's.
        assert [p.name for p in queries.bookable_leaders(county, db=session)] == ["测试leader_city", "测试leader_county"]
        assert [p.name for p in queries.bookable_leaders(county2, db=session)] == ["测试leader_city"]
        leader = _principal(session, org, "leader_county")
        assert [p.name for p in queries.leaders_in(leader, (Role.leader,), db=session)] == ["测试leader_county"]


def test_rooms_in_a_subtree_and_by_node(db, org):
    with db.transaction() as session:
        county = _principal(session, org, "coord_county")
        assert {r.id for r in queries.bookable_rooms(county, db=session)} == {org.rooms["county"].id,
                                                                          org.rooms["township"].id}
        assert [r.id for r in queries.active_rooms(db=session, node_id=org.nodes["township2"].id)] \
            == [org.rooms["township2"].id]
        assert len(queries.active_rooms(db=session)) == 3


def test_lookups_by_id(db, org):
    with db.transaction() as session:
        assert queries.node(org.nodes["city"].id, db=session).name == "岚州市"
        assert queries.node(10_000, db=session) is None
        assert queries.room(org.rooms["county"].id, db=session).node_id == org.nodes["county"].id
        assert queries.person(org.people["handler"].id, db=session).name == "测试handler"
        assert set(queries.nodes_by_id([org.nodes["city"].id, 10_000], db=session)) == {org.nodes["city"].id}
        assert queries.people_by_id([], db=session) == {} and queries.rooms_by_id(set(), db=session) == {}
        assert list(queries.rooms_by_id([org.rooms["township"].id], db=session)) == [org.rooms["township"].id]
