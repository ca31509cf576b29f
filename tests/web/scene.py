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
