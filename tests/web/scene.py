"""A matter with a booked session, a task with an attachment and a served notice, and page sign-in helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from scheduling import booking, plans
from scheduling.policy import Policy
from tests.conftest import PASSWORD
from vreception import clock, tasks
from vreception.cases import actions, register
from vreception.cases.identity import Protector, check_digit
from vreception.models import Document

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday


def id_number(serial: int) -> str:
    first17 = f"58010219700101{serial % 1000:03d}"
    return first17 + check_digit(first17)


@dataclass
class Scene:
    matter: int
    number: str
    code: str
    session: int
    task: int
    attachment: int
    document: int
    plan: int


def build_scene(db, org, settings) -> Scene:
    """Clock at Monday 2026-03-02 10:00; the county leader receives every working day 09:00–12:00."""
    clock.travel_to(NOW)
    protector = Protector(settings.effective_secret_key())
    with db.transaction() as session:
        plan = plans.create_plan(session, policy=POLICY, kind="rotation", leader_ids=[org.people["leader_county"].id],
                                 starts=time(9), ends=time(12), slot_minutes=30, room_ids=[org.rooms["county"].id],
                                 scope="劳动社保", valid_from=date(2026, 1, 1))
        matter, code, _ = register.register(
            session, protector=protector, petitioners=[{"name": "张三", "id_number": id_number(1), "phone": "13800138000"}],
            demands=[{"summary": "村里拖欠三个月工资，请求督促支付", "category": "wages"}],
            origin_node_id=org.nodes["township"].id, handling_node_id=org.nodes["county"].id, channel="video",
            actor_id=org.people["coord_county"].id)
        item = booking.book(session, policy=POLICY, kind="reception", leader_id=org.people["leader_county"].id,
                            room_ids=[org.rooms["township"].id], matter_id=matter.id,
                            starts_at=datetime(2026, 3, 4, 9, 0, tzinfo=SH), ends_at=datetime(2026, 3, 4, 9, 30, tzinfo=SH),
                            participants=[booking.ParticipantSpec("petitioner", None, "张三")], coordinator=True,
                            actor_id=org.people["coord_county"].id)
        actions.act(session, matter=matter, action="accept", actor_id=org.people["coord_county"].id)
        task = tasks.create(session, matter=matter, unit_node_id=org.nodes["county_dept"].id, title="核实工资拖欠情况",
                            due_at=NOW + timedelta(days=10), actor_id=org.people["coord_county"].id)
        attachment = tasks.attach(session, task=task, filename="底稿.txt", content_type="text/plain", data=b"draft",
                                  storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                                  actor_id=org.people["handler"].id)
        document = session.query(Document).filter(Document.matter_id == matter.id).first()
        return Scene(matter.id, matter.number, code, item.id, task.id, attachment.id, document.id, plan.id)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page_client(app, username: str | None) -> TestClient:
    """A browser-like client signed in as USERNAME by the login form (or signed out for None)."""
    client = TestClient(app, headers={"accept": "text/html"})
    token = csrf_of(client.get("/login").text)
    if username:
        response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303, response.text
    return client


def token(client: TestClient) -> str:
    """The CSRF token of this client's browser."""
    return csrf_of(client.get("/lookup").text)


@dataclass
class World:
    """The role × route scene: build_scene's objects plus a finished, recorded session and named seats."""

    scene: Scene
    finished: int  # an ended session of the same matter, with a recording row
    recording: int
    seats: dict  # participant ids of the booked session: leader, room, petitioner, coordinator (coord_county's)
    usernames: dict  # role key → username, for every account of the world


# Accounts the role × route table needs beyond build_org's: (key, role, node key).
MORE_PEOPLE = (("coord_city", "coordinator", "city"), ("coord_township", "coordinator", "township"),
               ("leader_county2", "leader", "county2"), ("handler_county2", "handler", "county2_dept"))


def extend_org(db, org) -> None:
    """Add county B's department, a city and a township coordinator, a leader and a handler of county B."""
    from vreception import org as org_service
    from vreception import people

    with db.transaction() as session:
        org.nodes["county2_dept"] = org_service.create_node(session, code="580103-RSJ", name="城西区人社局",
                                                            level="county", kind="department",
                                                            parent_id=org.nodes["county2"].id)
        for key, role, node_key in MORE_PEOPLE:
            node = org.nodes[node_key]
            person = people.create_person(session, name=f"测试{key}", title="", node_id=node.id,
                                          username=key.replace("_", "."), password=PASSWORD)
            people.assign_role(session, person=person, role=role, node_id=node.id)
            org.people[key] = person


def build_world(db, org, settings) -> World:
    """build_scene, plus extend_org, a coordinator's own seat and an ended consultation on the matter, recorded."""
    from recordings import service as recording_service
    from recordings.storage import LocalStorage
    from scheduling.session_state import change_state
    from vreception.models.people import Person
    from vreception.models.scheduling import Participant, ReceptionSession, SessionState

    extend_org(db, org)
    scene = build_scene(db, org, settings)
    with db.transaction() as session:
        booked = session.get(ReceptionSession, scene.session)
        coordinator = session.get(Person, org.people["coord_county"].id)
        seat = Participant(role="coordinator", person_id=coordinator.id, name=coordinator.name,
                           node_path=coordinator.node.path)
        booked.participants.append(seat)
        session.flush()
        seats = {p.role: p.id for p in booked.participants if p.role != "room"}
        seats["room"] = next(p.id for p in booked.participants if p.room_id == org.rooms["township"].id)
        earlier = booking.book(session, policy=POLICY, kind="consultation", leader_id=org.people["leader_county"].id,
                               room_ids=[org.rooms["township"].id], matter_id=None,
                               starts_at=datetime(2026, 3, 3, 9, 0, tzinfo=SH),
                               ends_at=datetime(2026, 3, 3, 9, 30, tzinfo=SH),
                               participants=[booking.ParticipantSpec("petitioner", None, "张三")], coordinator=True,
                               actor_id=org.people["coord_county"].id)
        earlier.matter_id = scene.matter  # a consultation (会商) on the matter: an accepted matter takes no new booking
        for state in (SessionState.open, SessionState.live, SessionState.ended):
            change_state(db=session, booking=earlier, to=state, at=clock.now(), policy=POLICY)
        storage = LocalStorage(Path(settings.data_dir) / "recordings")
        recording = recording_service.start_recording(session=session, session_id=earlier.id, storage=storage)
        recording_service.mark_failed(session=session, recording=recording, error="no media in this scene")
        finished, recording_id = earlier.id, recording.id
    usernames = {key: person.username for key, person in org.people.items()}
    return World(scene, finished, recording_id, seats, usernames)
