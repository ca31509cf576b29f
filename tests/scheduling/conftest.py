"""Scheduling test helpers: matters written directly, plans, a fixed clock in March 2026."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling import plans
from scheduling.policy import Policy
from vreception import clock
from vreception.models.cases import Channel, Deadline, Matter, MatterState
from vreception.models.org import Node

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
_numbers = itertools.count(1)


def at(day: str, hhmm: str = "09:00") -> datetime:
    """An aware Asia/Shanghai datetime."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=SH)


def iso(day: str, hhmm: str) -> str:
    return at(day, hhmm).isoformat()


def make_matter(db, *, origin: Node, handling: Node, state: str = "registered", accepted_at: datetime | None = None,
                deadlines: list[tuple[str, date]] = ()) -> int:
    """A matter row written directly (the matters service is another engineer's); returns its id."""
    with db.transaction() as session:
        matter = Matter(number=f"T2026-{next(_numbers):05d}", query_code_hash="x" * 64, origin_node_id=origin.id,
                        handling_node_id=handling.id, handling_path=handling.path, channel=Channel.video,
                        state=MatterState(state), received_at=clock.now() - timedelta(days=100),
                        accepted_at=accepted_at)
        matter.deadlines = [Deadline(kind=k, start_day=due - timedelta(days=30), due_day=due) for k, due in deadlines]
        session.add(matter)
        session.flush()
        return matter.id


@dataclass
class World:
    """The org plus a published plan for the county leader and the city leader, and a matter."""

    org: object
    county_plan: int
    city_plan: int
    matter: int


@pytest.fixture
def world(db, org) -> World:
    """Now is Monday 2026-03-02 10:00; both leaders receive every working day 09:00–12:00 (30 min + 10 min buffer)."""
    clock.travel_to(at("2026-03-02", "10:00"))
    with db.transaction() as session:
        county = plans.create_plan(session, policy=POLICY, kind="rotation", leader_ids=[org.people["leader_county"].id],
                                   starts=time(9), ends=time(12), slot_minutes=30, buffer_minutes=10,
                                   room_ids=[org.rooms["county"].id], scope="劳动社保、征地拆迁",
                                   valid_from=date(2026, 1, 1))
        city = plans.create_plan(session, policy=POLICY, kind="rotation", leader_ids=[org.people["leader_city"].id],
                                 starts=time(9), ends=time(12), slot_minutes=30, buffer_minutes=0,
                                 valid_from=date(2026, 1, 1))
        ids = county.id, city.id
    matter = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"])
    return World(org, ids[0], ids[1], matter)


def reception(world: World, day: str = "2026-03-04", start: str = "09:00", end: str = "09:30", **extra) -> dict:
    """A booking request of the township petitioner with the county leader."""
    body = {"kind": "reception", "leader_id": world.org.people["leader_county"].id,
            "room_ids": [world.org.rooms["township"].id], "matter_id": world.matter,
            "start": iso(day, start), "end": iso(day, end),
            "participants": [{"role": "petitioner", "name": "张三"}]}
    body.update(extra)
    return body
