"""Test data, built one small piece at a time: the org, matters, sessions, tasks, recordings, sign-ins, and the
two scenes of the page tests composed from them.

Builders that take SESSION write inside the caller's transaction and return ORM rows; those that take DB open
their own transaction and return ids. Names of nodes, rooms and people are the keys of `Org`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from scheduling import booking, plans
from scheduling.policy import Policy
from vreception import clock
from vreception.cases.identity import check_digit
from vreception.config import Settings

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
PASSWORD = "Secret@123"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # the scenes' Monday
DEMAND = "村里拖欠三个月工资，请求督促支付"
_numbers = itertools.count(1)


def id_number(serial: int, birth: str = "19700101") -> str:
    """A valid 18-digit ID number (region 580102) with its check digit."""
    first17 = f"580102{birth}{serial % 1000:03d}"
    return first17 + check_digit(first17)


def app_settings(db, data_dir: Path, secret_key: str = "t" * 48) -> Settings:
    """Settings for an app on DB (dev mode, a real secret, loopback media, no background jobs)."""
    return Settings(mode="dev", database_url=db.url, data_dir=data_dir, secret_key=secret_key,
                    media_host_addresses=["127.0.0.1"], job_interval_seconds=0)


# ---- the org ---------------------------------------------------------------------------------------------------------

@dataclass
class Org:
    """A small hierarchy with one account per role, for tests."""

    nodes: dict = field(default_factory=dict)
    rooms: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)


# (key, code, name, level, parent key, kind)
NODES = (("province", "580000", "青岚省", "province", None, "region"),
         ("city", "580100", "岚州市", "city", "province", "region"),
         ("county", "580102", "城东区", "county", "city", "region"),
         ("county2", "580103", "城西区", "county", "city", "region"),
         ("township", "580102001", "桃源镇", "township", "county", "region"),
         ("township2", "580103001", "白沙镇", "township", "county2", "region"),
         ("county_dept", "580102-RSJ", "城东区人社局", "county", "county", "department"))
ROOMS = ("county", "township", "township2")  # one video room at each of these nodes
# (key, role, node key, title, room key); the username is the key with dots.
PEOPLE = (("admin", "admin", "province", "", None), ("coord_province", "coordinator", "province", "", None),
          ("coord_county", "coordinator", "county", "", None), ("coord_county2", "coordinator", "county2", "", None),
          ("leader_county", "leader", "county", "副县长", None), ("leader_city", "leader", "city", "副市长", None),
          ("handler", "handler", "county_dept", "", None), ("room_township", "room", "township", "", "township"),
          ("hearing", "hearing_member", "county", "听证员（律师）", None))
COUNTY2_DEPT = ("county2_dept", "580103-RSJ", "城西区人社局", "county", "county2", "department")
# Accounts the role × route table needs beyond build_org's: (key, role, node key).
MORE_PEOPLE = (("coord_city", "coordinator", "city"), ("coord_township", "coordinator", "township"),
               ("leader_county2", "leader", "county2"), ("handler_county2", "handler", "county2_dept"))


def add_node(session, org: Org, key, code, name, level, parent=None, kind="region"):
    """A node under ORG's node PARENT (a key), kept as org.nodes[KEY]."""
    from vreception import org as org_service

    org.nodes[key] = org_service.create_node(db=session, code=code, name=name, level=level, kind=kind,
                                             parent_id=org.nodes[parent].id if parent else None)
    return org.nodes[key]


def add_room(session, org: Org, key):
    """The video room of ORG's node KEY, kept as org.rooms[KEY]."""
    from vreception import org as org_service

    org.rooms[key] = org_service.create_room(db=session, node_id=org.nodes[key].id, name=f"{org.nodes[key].name}视频接访室")
    return org.rooms[key]


def add_person(session, org: Org, key, role, node_key, *, title="", room_key=None, name=None):
    """An account KEY (username KEY with dots, password PASSWORD) with ROLE at node NODE_KEY, kept as org.people[KEY]."""
    from vreception import people

    node = org.nodes[node_key]
    person = people.create_person(db=session, name=name or f"测试{key}", title=title, node_id=node.id,
                                  username=key.replace("_", "."), password=PASSWORD)
    people.assign_role(db=session, person=person, role=role, node_id=node.id,
                       room_id=org.rooms[room_key].id if room_key else None)
    org.people[key] = person
    return person


def build_org(db) -> Org:
    """Province → city → county → two townships (plus a second county), a department, rooms, one account per role.

    Built through the services once per database in this process; on an empty database at real time after that, its
    rows are written back as they were (some 125 audited statements become a handful of inserts: a tenth of the
    suite's time on PostgreSQL)."""
    saved = _ORG_ROWS.get(id(db))
    if saved is not None and saved.db is db and _replayable(db):
        return _written_back(db, saved)
    replayable = _replayable(db)
    out = Org()
    with db.transaction() as session:
        for key, code, name, level, parent, kind in NODES:
            add_node(session, out, key, code, name, level, parent, kind)
        for key in ROOMS:
            add_room(session, out, key)
        for key, role, node_key, title, room_key in PEOPLE:
            add_person(session, out, key, role, node_key, title=title, room_key=room_key)
    if replayable:
        _ORG_ROWS[id(db)] = _taken(db, out)
    return out


@dataclass
class _OrgRows:
    """build_org's rows in one database (every table it wrote, the audit head) and its objects' ids by key."""

    db: object
    tables: list[tuple[str, list[dict]]]
    ids: dict[str, dict[str, int]]


_ORG_ROWS: dict[int, _OrgRows] = {}


def _replayable(db) -> bool:
    """The clock runs at real time and DB holds nothing but the audit chain's genesis (tests.conftest.reset)."""
    from sqlalchemy import text

    from vreception.db import Base

    if clock.now() - datetime.now(clock.now().tzinfo) > timedelta(seconds=1) or clock._frozen is not None:
        return False
    with db.engine.connect() as connection:
        filled = connection.execute(text(" UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})" for t in Base.metadata.sorted_tables
            if t.name != "audit_head"))).first()
        head = connection.execute(text("SELECT seq FROM audit_head")).scalars().all()
    return filled is None and head == [0]


def _taken(db, org: Org) -> _OrgRows:
    from sqlalchemy import select

    from vreception.db import Base

    tables = []
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in connection.execute(select(table))]
            if rows:
                tables.append((table.name, rows))
    ids = {"nodes": {k: v.id for k, v in org.nodes.items()}, "rooms": {k: v.id for k, v in org.rooms.items()},
           "people": {k: v.id for k, v in org.people.items()}}
    return _OrgRows(db, tables, ids)


def _written_back(db, saved: _OrgRows) -> Org:
    from sqlalchemy import delete, insert, select, text

    from vreception.db import Base
    from vreception.models import Node, Person, Room

    with db.engine.begin() as connection:
        for name, rows in saved.tables:
            table = Base.metadata.tables[name]
            if name == "audit_head":
                connection.execute(delete(table))
            connection.execute(insert(table), rows)
            if db.backend == "postgresql" and "id" in table.c:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                        f"(SELECT max(id) FROM {name}))"))
    out = Org()
    with db.transaction() as session:
        for attribute, model in (("nodes", Node), ("rooms", Room), ("people", Person)):
            found = {row.id: row for row in session.scalars(select(model).where(
                model.id.in_(saved.ids[attribute].values())))}
            getattr(out, attribute).update({key: found[i] for key, i in saved.ids[attribute].items()})
    return out


def extend_org(db, org: Org) -> None:
    """Add county B's department, a city and a township coordinator, a leader and a handler of county B."""
    with db.transaction() as session:
        add_node(session, org, *COUNTY2_DEPT)
        for key, role, node_key in MORE_PEOPLE:
            add_person(session, org, key, role, node_key)


# ---- matters ---------------------------------------------------------------------------------------------------------

def register_matter(session, org: Org, settings, *, serial=1, name="张三", phone="13800138000", summary=DEMAND,
                    category="wages", actor="coord_county"):
    """A matter registered by the service (township → county, video); returns (matter, query code)."""
    from vreception.cases import register
    from vreception.cases.identity import Protector

    matter, code, _ = register.register(
        db=session, protector=Protector(settings.effective_secret_key()),
        petitioners=[{"name": name, "id_number": id_number(serial), "phone": phone}],
        demands=[{"summary": summary, "category": category}], origin_node_id=org.nodes["township"].id,
        handling_node_id=org.nodes["county"].id, channel="video", actor_id=org.people[actor].id)
    return matter, code


def act_on(session, org: Org, matter, action: str, actor="coord_county", **params):
    """Take ACTION on MATTER through the service as ACTOR."""
    from vreception.cases import actions

    return actions.act(db=session, matter=matter, action=action, actor_id=org.people[actor].id, **params)


def matter_row(session, *, origin, handling, state="registered", number=None, received_at=None, accepted_at=None,
               deadlines: list[tuple[str, date]] = ()):
    """A matter row written directly, past the service's rules (HANDLING's subtree, video)."""
    from vreception.models.cases import Channel, Deadline, Matter, MatterState

    matter = Matter(number=number or f"T2026-{next(_numbers):05d}", query_code_hash="x" * 64, origin_node_id=origin.id,
                    handling_node_id=handling.id, handling_path=handling.path, channel=Channel.video,
                    state=MatterState(state), received_at=received_at or clock.now(), accepted_at=accepted_at)
    matter.deadlines = [Deadline(kind=k, start_day=due - timedelta(days=30), due_day=due) for k, due in deadlines]
    session.add(matter)
    session.flush()
    return matter


def make_matter(db, *, origin, handling, state: str = "registered", accepted_at: datetime | None = None,
                deadlines: list[tuple[str, date]] = ()) -> int:
    """A matter row received 100 days ago, in its own transaction; returns its id."""
    with db.transaction() as session:
        return matter_row(session, origin=origin, handling=handling, state=state, accepted_at=accepted_at,
                          deadlines=deadlines, received_at=clock.now() - timedelta(days=100)).id


# ---- plans and sessions ----------------------------------------------------------------------------------------------

def add_plan(session, org: Org, *, leader="leader_county", rooms=("county",), buffer_minutes=0, scope="",
             starts=time(9), ends=time(12)):
    """LEADER receives every working day STARTS–ENDS in 30-minute slots, from 2026-01-01 (a rotation plan)."""
    return plans.create_plan(db=session, policy=POLICY, kind="rotation", leader_ids=[org.people[leader].id],
                             starts=starts, ends=ends, slot_minutes=30, buffer_minutes=buffer_minutes,
                             room_ids=[org.rooms[r].id for r in rooms] or None, scope=scope,
                             valid_from=date(2026, 1, 1))


def book_session(session, org: Org, *, starts_at: datetime, matter_id=None, kind="reception", leader="leader_county",
                 room="township", petitioner="张三", actor="coord_county", minutes=30, **options):
    """A session booked by the rules: LEADER, ROOM, a named petitioner and a coordinator's seat."""
    return booking.book(db=session, policy=POLICY, kind=kind, leader_id=org.people[leader].id,
                        room_ids=[org.rooms[room].id], matter_id=matter_id, starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=minutes),
                        participants=[booking.ParticipantSpec("petitioner", None, petitioner)], coordinator=True,
                        actor_id=org.people[actor].id, **options)


def session_row(session, org: Org, *, starts_at: datetime, state="booked", leader="leader_county", matter_id=None,
                roles=(), room=None):
    """A 30-minute reception row of the county written directly, with a participant per role (named after it) and
    ROOM's seat."""
    from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState

    item = ReceptionSession(kind=SessionKind.reception, state=SessionState(state), leader_id=org.people[leader].id,
                            matter_id=matter_id, node_path=org.nodes["county"].path, starts_at=starts_at,
                            ends_at=starts_at + timedelta(minutes=30))
    item.participants = [Participant(role=role, name=role) for role in roles]
    if room:
        item.participants.append(Participant(role="room", room_id=org.rooms[room].id, name=room,
                                             node_path=org.nodes[room].path))
    session.add(item)
    session.flush()
    return item


def add_seat(session, booked, person):
    """PERSON's own coordinator seat in BOOKED."""
    from vreception.models.scheduling import Participant

    seat = Participant(role="coordinator", person_id=person.id, name=person.name, node_path=person.node.path)
    booked.participants.append(seat)
    session.flush()
    return seat


def end_session(session, booked) -> None:
    """Open, start and end BOOKED now, as a call does."""
    from scheduling.session_state import change_state
    from vreception.models.scheduling import SessionState

    for state in (SessionState.open, SessionState.live, SessionState.ended):
        change_state(db=session, booking=booked, to=state, at=clock.now(), policy=POLICY)


def add_recording(session, settings, session_id: int, *, failed="no media in this scene"):
    """A recording row of SESSION_ID in the data directory's storage, given up as FAILED (no media)."""
    from recordings import service as recording_service
    from recordings.storage import LocalStorage

    storage = LocalStorage(Path(settings.data_dir) / "recordings")
    recording = recording_service.start_recording(db=session, session_id=session_id, storage=storage)
    recording_service.mark_failed(db=session, recording=recording, error=failed)
    return recording


# ---- tasks -----------------------------------------------------------------------------------------------------------

def add_task(session, org: Org, matter, *, title: str, due_at: datetime, unit="county_dept", actor="coord_county"):
    """A task on MATTER for the unit UNIT, assigned by ACTOR."""
    from vreception import tasks

    return tasks.create(db=session, matter=matter, unit_node_id=org.nodes[unit].id, title=title, due_at=due_at,
                        actor_id=org.people[actor].id)


def add_attachment(session, org: Org, settings, task, *, filename="底稿.txt", content_type="text/plain", data=b"draft",
                   actor="handler"):
    """An attachment of TASK uploaded by ACTOR into the data directory."""
    from vreception import tasks

    return tasks.attach(db=session, task=task, filename=filename, content_type=content_type, data=data,
                        storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                        actor_id=org.people[actor].id)


# ---- through the API -------------------------------------------------------------------------------------------------

def login(client, username: str, password: str = PASSWORD) -> dict:
    """Headers with a bearer token for USERNAME."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class FreshHeaders(Mapping):
    """Authorization headers that sign in again once the (travelling) clock has moved an hour on."""

    def __init__(self, client, username: str):
        self.client, self.username = client, username
        self._headers, self._when = {}, None

    def _fresh(self) -> dict:
        moment = clock.now()
        if self._when is None or not timedelta(0) <= moment - self._when < timedelta(hours=1):
            self._headers, self._when = login(self.client, self.username), moment
        return self._headers

    def __getitem__(self, key):
        return self._fresh()[key]

    def __iter__(self):
        return iter(self._fresh())

    def __len__(self):
        return len(self._fresh())


def matter_body(org: Org, *, serial=1, summary=DEMAND, category="wages", name="张三", phone="13800138000", **extra):
    """The JSON of a matter registered from the township to the county (PHONE None: no phone)."""
    petitioner = {"name": name, "id_number": id_number(serial), "phone": phone}
    if phone is None:
        del petitioner["phone"]
    body = {
        "petitioners": [petitioner],
        "origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id,
        "demands": [{"summary": summary, "category": category}], "channel": "video",
    }
    body.update(extra)
    return body


def register(client, org: Org, headers=None, **kw):
    """Register a matter by the API (as the county coordinator by default); returns (matter, headers)."""
    headers = headers or FreshHeaders(client, "coord.county")
    response = client.post("/api/v1/matters", headers=headers, json=matter_body(org, **kw))
    assert response.status_code == 201, response.text
    return response.json(), headers


def act(client, headers, matter_id, action, expect=200, **params):
    """Take ACTION on a matter by the API, expecting EXPECT."""
    response = client.post(f"/api/v1/matters/{matter_id}/actions", headers=headers, json={"action": action, **params})
    assert response.status_code == expect, response.text
    return response.json()


def book_walk_in(client, org: Org, *, extra_participants=()) -> dict:
    """A walk-in session (现场接访) booked now by the county coordinator: leader + township room."""
    headers = login(client, "coord.county")
    matter, _ = register(client, org, headers=headers)
    response = client.post("/api/v1/sessions", headers=headers, json={
        "kind": "reception", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
        "matter_id": matter["id"], "ad_hoc": True, "reason": "群众现场来访", "participants": list(extra_participants)})
    assert response.status_code == 201, response.text
    return response.json()


# ---- pages -----------------------------------------------------------------------------------------------------------

def csrf_of(html: str) -> str:
    """The form token in a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page_client(app, username: str | None):
    """A browser-like client signed in as USERNAME by the login form (or signed out for None)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, headers={"accept": "text/html"})
    token = csrf_of(client.get("/login").text)
    if username:
        response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303, response.text
    return client


def token(client) -> str:
    """The CSRF token of this client's browser."""
    return csrf_of(client.get("/lookup").text)


def sign_in_browser(page, base: str, username: str) -> None:
    """Sign a Playwright PAGE in as USERNAME by the login form; returns once it has left /login."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


# ---- the scenes of the page tests ------------------------------------------------------------------------------------

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


def build_scene(db, org: Org, settings) -> Scene:
    """Clock at Monday 2026-03-02 10:00; the county leader receives every working day 09:00–12:00; an accepted
    matter with a session booked on Wednesday 09:00, a task, its attachment and the acceptance notice."""
    from vreception.models import Document

    clock.travel_to(NOW)
    with db.transaction() as session:
        plan = add_plan(session, org, scope="劳动社保")
        matter, code = register_matter(session, org, settings)
        item = book_session(session, org, matter_id=matter.id, starts_at=datetime(2026, 3, 4, 9, 0, tzinfo=SH))
        act_on(session, org, matter, "accept")
        task = add_task(session, org, matter, title="核实工资拖欠情况", due_at=NOW + timedelta(days=10))
        attachment = add_attachment(session, org, settings, task)
        document = session.query(Document).filter(Document.matter_id == matter.id).first()
        return Scene(matter.id, matter.number, code, item.id, task.id, attachment.id, document.id, plan.id)


@dataclass
class World:
    """The role × route scene: build_scene's objects plus a finished, recorded session and named seats."""

    scene: Scene
    finished: int  # an ended session of the same matter, with a recording row
    recording: int
    seats: dict  # participant ids of the booked session: leader, room, petitioner, coordinator (coord_county's)
    usernames: dict  # role key → username, for every account of the world


def build_world(db, org: Org, settings) -> World:
    """build_scene, plus extend_org, a coordinator's own seat and an ended consultation on the matter, recorded."""
    from vreception.models.people import Person
    from vreception.models.scheduling import ReceptionSession

    extend_org(db, org)
    scene = build_scene(db, org, settings)
    with db.transaction() as session:
        booked = session.get(ReceptionSession, scene.session)
        add_seat(session, booked, session.get(Person, org.people["coord_county"].id))
        seats = {p.role: p.id for p in booked.participants if p.role != "room"}
        seats["room"] = next(p.id for p in booked.participants if p.room_id == org.rooms["township"].id)
        earlier = book_session(session, org, kind="consultation", starts_at=datetime(2026, 3, 3, 9, 0, tzinfo=SH))
        earlier.matter_id = scene.matter  # a consultation (会商) on the matter: an accepted matter takes no new booking
        end_session(session, earlier)
        finished, recording_id = earlier.id, add_recording(session, settings, earlier.id).id
    usernames = {key: person.username for key, person in org.people.items()}
    return World(scene, finished, recording_id, seats, usernames)
