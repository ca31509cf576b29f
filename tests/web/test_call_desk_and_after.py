"""The call page per role: the leader's case panel, the roster with the people in the room, what comes after."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from scheduling import booking
from tests.factories import POLICY, SH, build_scene, id_number, page_client
from vreception import clock, records
from vreception.cases import register
from vreception.cases.identity import Protector
from vreception.models import Matter
from vreception.models.scheduling import Participant, ReceptionSession

CALL_OPEN = datetime(2026, 3, 4, 8, 30, tzinfo=SH)  # the scene's Wednesday session opens 30 minutes before

@pytest.fixture
def scene(app, org, settings, db):
    """The page scene, plus two more matters of 张三: one the county holds, one only the other county may read."""
    scene = build_scene(db, org, settings)
    protector = Protector(settings.effective_secret_key())
    numbers = {}
    with db.transaction() as session:
        for key, origin, handling, summary in (("county", "township", "county", "宅基地确权纠纷"),
                                               ("county2", "township2", "county2", "医保报销不予受理")):
            matter, _, _ = register.register(
                db=session, protector=protector, petitioners=[{"name": "张三", "id_number": id_number(1)}],
                demands=[{"summary": summary, "category": "land"}], origin_node_id=org.nodes[origin].id,
                handling_node_id=org.nodes[handling].id, channel="visit",
                actor_id=org.people[f"coord_{key}"].id)
            numbers[key] = matter.number
    scene.numbers = numbers
    return scene


def _config(html: str) -> dict:
    raw = re.search(r'<script type="application/json" id="call-config">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def _desk(html: str) -> str:
    return html[html.index('id="desk"'):]


def test_leader_reads_the_petitioner_masked_with_other_matters_of_the_same_person(app, scene):
    clock.travel_to(CALL_OPEN)
    page = page_client(app, "leader.county").get(f"/calls/{scene.session}")
    assert page.status_code == 200
    desk = _desk(page.text)
    assert "张三" in desk and "来自桃源镇" in desk
    assert id_number(1) not in page.text and "*" * 14 + id_number(1)[-4:] in desk
    assert scene.numbers["county"] in desk and "宅基地确权纠纷" not in desk  # listed by number, state and names
    assert scene.numbers["county2"] not in page.text  # the same person's matter elsewhere stays unread
    assert "受理告知书" in desk and re.search(r'href="/documents/\d+\.html"', desk)
    config = _config(page.text)
    assert config["capabilities"] == ["moderate", "publish", "receive", "show"]
    room = next(s for s in config["roster"] if s["role"] == "room")
    petitioner = next(s for s in config["roster"] if s["role"] == "petitioner")
    assert petitioner["name"] == "张三" and petitioner["room"] == room["id"]  # the booked room, not the leader's
    assert config["after"]["matter"] == f"/matters/{scene.matter}" and config["after"]["agenda"] == "/agenda"
    assert config["after"]["record"] == f"/sessions/{scene.session}/record"  # the record to take and confirm
    assert 'id="btn-end"' in page.text and 'id="lobby"' in page.text


def test_the_desk_lists_the_sessions_of_the_same_persons_other_matters(app, scene, org, db):
    with db.transaction() as session:
        other = session.scalars(select(Matter).where(Matter.number == scene.numbers["county"])).one()
        booking.book(db=session, policy=POLICY, kind="consultation", leader_id=org.people["leader_county"].id,
                     room_ids=[org.rooms["township"].id], matter_id=other.id,
                     starts_at=datetime(2026, 3, 11, 10, 0, tzinfo=SH),
                     ends_at=datetime(2026, 3, 11, 10, 30, tzinfo=SH), participants=[], coordinator=True,
                     actor_id=org.people["coord_county"].id)
    clock.travel_to(CALL_OPEN)
    page = page_client(app, "leader.county").get(f"/calls/{scene.session}")
    same = page.text[page.text.index('id="desk-same-people"'):]
    assert scene.numbers["county"] in same and "2026-03-11" in same


def test_the_handling_office_sees_the_id_number_in_full(app, scene):
    clock.travel_to(CALL_OPEN)
    page = page_client(app, "coord.county").get(f"/calls/{scene.session}")
    assert id_number(1) in _desk(page.text)


def test_the_leaders_page_offers_the_next_session_of_the_agenda(app, scene, org, db):
    with db.transaction() as session:
        later = booking.book(db=session, policy=POLICY, kind="consultation", leader_id=org.people["leader_county"].id,
                             room_ids=[org.rooms["township"].id], matter_id=scene.matter,
                             starts_at=datetime(2026, 3, 4, 10, 0, tzinfo=SH),
                             ends_at=datetime(2026, 3, 4, 10, 30, tzinfo=SH), participants=[], coordinator=True,
                             actor_id=org.people["coord_county"].id)
        later_id = later.id
    clock.travel_to(CALL_OPEN)
    page = page_client(app, "leader.county").get(f"/calls/{scene.session}")
    assert _config(page.text)["after"]["next"] == f"/calls/{later_id}"
    assert f'href="/calls/{later_id}"' in page.text


def test_the_kiosk_has_no_desk_and_moves_on_after_the_call(app, scene, db):
    clock.travel_to(CALL_OPEN)
    kiosk = page_client(app, "room.township")
    page = kiosk.get(f"/calls/{scene.session}")
    assert page.status_code == 200 and 'id="desk"' not in page.text and 'id="btn-end"' not in page.text
    config = _config(page.text)
    assert config["capabilities"] == ["publish", "receive"]
    assert config["after"] == {"kiosk": f"/kiosk/sessions/{scene.session}/after", "seconds": 8}
    assert "接访已结束" in page.text  # the end screen, shown when the session ends
    moved = kiosk.get(f"/kiosk/sessions/{scene.session}/after", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/kiosk"
    with db.transaction() as session:
        matter = session.get(Matter, scene.matter)
        matter.served_at = datetime(2026, 3, 1, 9, 0, tzinfo=SH)
        matter.rating = None
    moved = kiosk.get(f"/kiosk/sessions/{scene.session}/after", follow_redirects=False)
    assert moved.headers["location"] == f"/kiosk/sessions/{scene.session}/rate"
    with db.transaction() as session:
        records.add_entry(db=session, booking=session.get(ReceptionSession, scene.session), text="信访人陈述诉求。",
                          actor_id=None)
    moved = kiosk.get(f"/kiosk/sessions/{scene.session}/after", follow_redirects=False)
    assert moved.headers["location"] == f"/kiosk/sessions/{scene.session}/sign"  # the record is signed first
    moved = kiosk.get(f"/kiosk/sessions/{scene.session}/after?signed=1", follow_redirects=False)
    assert moved.headers["location"] == f"/kiosk/sessions/{scene.session}/rate"
    assert page_client(app, "leader.county").get(f"/kiosk/sessions/{scene.session}/after",
                                                 follow_redirects=False).status_code == 403


def test_an_observer_watches_only(app, scene, org, db):
    clock.travel_to(CALL_OPEN)
    with db.transaction() as session:
        item = session.get(ReceptionSession, scene.session)
        item.participants.append(Participant(role="observer", person_id=org.people["hearing"].id, name="列席人",
                                             node_path=""))
    page = page_client(app, "hearing").get(f"/calls/{scene.session}")
    assert page.status_code == 200
    config = _config(page.text)
    assert config["role"] == "observer" and config["capabilities"] == ["receive"]
    assert 'id="btn-mic"' not in page.text and 'id="watch-only"' in page.text and 'id="desk"' not in page.text


def test_the_kiosk_lists_the_people_of_its_next_session_with_their_roles(app, scene):
    page = page_client(app, "room.township").get("/kiosk")
    assert '<span data-role="petitioner">张三（信访人）</span>' in page.text
