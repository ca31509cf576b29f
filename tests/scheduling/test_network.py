"""The video network: heartbeats (one cheap UPSERT per room, bounded), online within 90 s, self-tests failed today
in the display time zone, live sessions with their leader's level, everything under the viewed node only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scheduling import network, room_status
from tests.factories import SH, add_node, add_room, session_row
from tests.scheduling.conftest import at
from vreception import clock
from vreception.auth.access import principal_for
from vreception.errors import Forbidden
from vreception.models import AuditEvent, Person
from vreception.models.network import RoomStatus

FAILED_CAMERA = room_status.SelfTestIn(camera=False, microphone=True, network=True, network_ms=40, detail="NotFound")
PASSED = room_status.SelfTestIn(camera=True, microphone=True, network=True, network_ms=30)


def _beat(db, room_id, when):
    with db.transaction() as session:
        return room_status.heartbeat(db=session, room_id=room_id, at=when, client="Chromium")


def _overview(db, node, when):
    with db.transaction() as session:
        return network.overview(session.merge(node), db=session, at=when, zone=SH)


def _unit(view, node):
    return next(u for u in view.units if u.node_id == node.id)


def test_a_room_is_online_within_90_seconds_of_its_last_heartbeat(db, org):
    township = org.rooms["township"].id
    start = at("2026-03-02", "10:00")
    clock.travel_to(start)
    assert _beat(db, township, clock.now())
    seen = _overview(db, org.nodes["city"], start + timedelta(seconds=90))
    county = _unit(seen, org.nodes["county"])
    assert (county.rooms, county.online) == (2, 1)  # the county's own room and the township's
    assert (seen.totals.rooms, seen.totals.online) == (3, 1)
    later = _overview(db, org.nodes["city"], start + timedelta(seconds=91))
    assert _unit(later, org.nodes["county"]).online == 0 and later.totals.online == 0
    with db.transaction() as session:
        rooms = network.room_states(session.merge(org.nodes["township"]), db=session, at=start + timedelta(seconds=30),
                                    zone=SH)
    assert [(r.id, r.online, r.last_seen_at) for r in rooms.items] == [(township, True, start)]


def test_heartbeats_write_one_row_at_most_every_ten_seconds(db, org):
    township = org.rooms["township"].id
    start = at("2026-03-02", "10:00")
    with db.transaction() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEvent))
    assert _beat(db, township, start)
    assert not _beat(db, township, start + timedelta(seconds=9))  # dropped: no write
    assert _beat(db, township, start + timedelta(seconds=10))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RoomStatus)) == 1
        assert session.get(RoomStatus, township).last_seen_at == start + timedelta(seconds=10)
        # Heartbeats are not audited.
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audited


def test_a_failed_self_test_counts_today_in_the_display_time_zone_not_yesterday(db, org):
    township, county_room = org.rooms["township"].id, org.rooms["county"].id
    # 23:30 in Shanghai on 3 March is 15:30 UTC; the next Shanghai day starts at 16:00 UTC.
    yesterday = at("2026-03-03", "23:30")
    with db.transaction() as session:
        room_status.record_self_test(db=session, room_id=township, result=FAILED_CAMERA, at=yesterday, actor_id=None)
    assert _overview(db, org.nodes["city"], at("2026-03-03", "23:50")).totals.failed_today == 1  # the same day
    with db.transaction() as session:
        room_status.record_self_test(db=session, room_id=county_room, result=FAILED_CAMERA,
                                     at=at("2026-03-04", "00:10"), actor_id=None)
    view = _overview(db, org.nodes["city"], at("2026-03-04", "09:00"))
    assert _unit(view, org.nodes["county"]).failed_today == 1  # the county room's, not the township's of yesterday
    assert view.totals.failed_today == 1
    with db.transaction() as session:
        rooms = {r.id: r for r in network.room_states(session.merge(org.nodes["county"]), db=session,
                                                      at=at("2026-03-04", "09:00"), zone=SH).items}
        assert rooms[township].self_test_failed == ["camera"] and not rooms[township].failed_today
        assert rooms[county_room].failed_today and rooms[county_room].self_test_ok is False
        # Each self-test is audited with what failed.
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "room.self_test")).all()
        assert sorted(e.entity_id for e in events) == sorted([str(township), str(county_room)])
    with db.transaction() as session:  # passing again clears the room's failure
        room_status.record_self_test(db=session, room_id=county_room, result=PASSED, at=at("2026-03-04", "08:00"),
                                     actor_id=None)
    assert _overview(db, org.nodes["city"], at("2026-03-04", "09:00")).totals.failed_today == 0


def test_live_sessions_carry_the_leader_level_and_rooms(db, org):
    with db.transaction() as session:
        live = session_row(session, org, starts_at=at("2026-03-02", "10:00"), state="live", room="township")
        session_row(session, org, starts_at=at("2026-03-02", "11:00"), state="booked", room="township")
        city_live = session_row(session, org, starts_at=at("2026-03-02", "10:00"), state="live",
                                leader="leader_city", room="township2")
        city_live.node_path = org.nodes["city"].path
        live_id, city_id = live.id, city_live.id
    view = _overview(db, org.nodes["province"], at("2026-03-02", "10:05"))
    assert {(s.id, s.level, tuple(s.rooms)) for s in view.live} == {
        (live_id, "county", ("桃源镇视频接访室",)), (city_id, "city", ("白沙镇视频接访室",))}
    # Under county 2 only the city leader's session with county 2's township room.
    assert [s.id for s in _overview(db, org.nodes["county2"], at("2026-03-02", "10:05")).live] == [city_id]


def test_the_overview_stays_inside_the_viewed_subtree(db, org):
    with db.transaction() as session:
        other_city = add_node(session, org, "city2", "580200", "青川市", "city", "province")
        add_node(session, org, "county9", "580202", "石门县", "county", "city2")
        add_node(session, org, "town9", "580202001", "石门镇", "township", "county9")
        add_room(session, org, "town9")
    _beat(db, org.rooms["town9"].id, at("2026-03-02", "10:00"))
    _beat(db, org.rooms["township"].id, at("2026-03-02", "10:00"))
    province = _overview(db, org.nodes["province"], at("2026-03-02", "10:00"))
    assert [(u.name, u.rooms, u.online) for u in province.units] == [("岚州市", 3, 1), ("青川市", 1, 1)]
    city = _overview(db, org.nodes["city"], at("2026-03-02", "10:00"))
    assert city.totals.online == 1 and {u.node_id for u in city.units} == {org.nodes["county"].id,
                                                                          org.nodes["county2"].id}
    with db.transaction() as session:
        rooms = network.room_states(session.merge(org.nodes["city"]), db=session, at=at("2026-03-02", "10:00"), zone=SH)
        assert org.rooms["town9"].id not in {r.id for r in rooms.items} and rooms.total == 3
        # A county coordinator cannot look at the city, nor at the other city; admin and province can.
        county = principal_for(session.get(Person, org.people["coord_county"].id))
        assert network.viewed_node(county, None, db=session).id == org.nodes["county"].id
        with pytest.raises(Forbidden):
            network.viewed_node(county, org.nodes["city"].id, db=session)
        with pytest.raises(Forbidden):
            network.viewed_node(county, other_city.id, db=session)
        admin = principal_for(session.get(Person, org.people["admin"].id))
        assert network.viewed_node(admin, None, db=session).id == org.nodes["province"].id
        # A room's kiosk account reports only for its own room.
        kiosk = principal_for(session.get(Person, org.people["room_township"].id))
        room_status.require_own_room(kiosk, org.rooms["township"].id)
        with pytest.raises(Forbidden):
            room_status.require_own_room(kiosk, org.rooms["township2"].id)
        with pytest.raises(Forbidden):
            network.top_node(kiosk, db=session)
