"""Scheduling test helpers: a fixed clock in March 2026, plans for two leaders, a matter written directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import pytest

from tests.factories import POLICY as POLICY  # re-exported: the builders live in tests/factories.py
from tests.factories import SH, add_plan
from tests.factories import make_matter as make_matter
from vreception import clock


def at(day: str, hhmm: str = "09:00") -> datetime:
    """An aware Asia/Shanghai datetime."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=SH)


def iso(day: str, hhmm: str) -> str:
    return at(day, hhmm).isoformat()


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
        county = add_plan(session, org, buffer_minutes=10, scope="劳动社保、征地拆迁").id
        city = add_plan(session, org, leader="leader_city", rooms=()).id
    matter = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"])
    return World(org, county, city, matter)


def reception(world: World, day: str = "2026-03-04", start: str = "09:00", end: str = "09:30", **extra) -> dict:
    """A booking request of the township petitioner with the county leader."""
    body = {"kind": "reception", "leader_id": world.org.people["leader_county"].id,
            "room_ids": [world.org.rooms["township"].id], "matter_id": world.matter,
            "start": iso(day, start), "end": iso(day, end),
            "participants": [{"role": "petitioner", "name": "张三"}]}
    body.update(extra)
    return body
