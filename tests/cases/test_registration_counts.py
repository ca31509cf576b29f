"""The registrations of ended months stored per handling node (issue 16): read back equal to a live count, for a
province and a county; a transfer, a demand recategorised or added marks the month stale and the next read counts
it again; a range over ended months and the current month adds the stored part to the live one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.cases.helpers import at, travel
from tests.factories import FreshHeaders, act, register
from vreception import jobs
from vreception.cases import statistics
from vreception.models import Demand, Matter
from vreception.models.figures import RegistrationCount, RegistrationMonth, StaleRegistration

FEBRUARY, MARCH, APRIL = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def _counts(db, months, path: str, stored: bool) -> dict[int, statistics.MatterCounts]:
    """matter_counts over the subtree PATH: the ended months from their stored counts (STORED), else all live."""
    with db.transaction() as s:
        return statistics.matter_counts(db=s, months=months, within=Matter.handling_path.startswith(path),
                                        paths=[path] if stored else None)


def _agree(db, months, path: str) -> dict[int, statistics.MatterCounts]:
    found = _counts(db, months, path, stored=True)
    assert found == _counts(db, months, path, stored=False)
    return found


def _count(db, model, **where) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def _march(client, org):
    """Three matters registered in March at the county: two channels, two categories, one with two demands of one."""
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    first, _ = register(client, org, headers=office, serial=1, summary="讨薪一")
    register(client, org, headers=office, serial=2, summary="土地纠纷", category="land", channel="visit")
    both, _ = register(client, org, headers=office, serial=3, summary="讨薪二", demands=[
        {"summary": "讨薪二", "category": "wages"}, {"summary": "补发加班费", "category": "wages"},
        {"summary": "宅基地", "category": "land"}])
    return office, first, both


def test_ended_months_are_stored_once_and_equal_live_counts(client, org, db):
    office, _, _ = _march(client, org)
    travel(2026, 4, 10)
    register(client, org, headers=office, serial=4, summary="四月事项")
    province, county = org.nodes["province"].path, org.nodes["county"].path
    march = _agree(db, [MARCH], province)
    unit = march[org.nodes["county"].id]
    assert (unit.registered, unit.by_channel, unit.by_category) == (3, {"video": 2, "visit": 1},
                                                                    {"wages": 2, "land": 2})
    assert _count(db, RegistrationMonth, month=MARCH) == 1
    rows = _count(db, RegistrationCount, month=MARCH)
    assert rows == 4
    assert _agree(db, [MARCH], county) == march
    assert _agree(db, [MARCH], org.nodes["county2"].path) == {}
    # A range over ended months and the current one: the stored months added to a live count of April alone.
    both = _agree(db, [FEBRUARY, MARCH, APRIL], province)
    assert both[org.nodes["county"].id].registered == 4
    assert _count(db, RegistrationMonth) == 2  # February (empty) and March; April not yet ended
    assert _count(db, RegistrationCount, month=MARCH) == rows  # read again: nothing counted again


def test_a_transfer_marks_both_nodes_and_the_next_read_counts_them_again(client, org, db):
    office, first, _ = _march(client, org)
    travel(2026, 4, 2)
    province = org.nodes["province"].path
    _agree(db, [MARCH], province)
    act(client, office, first["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    with db.transaction() as s:
        marked = set(s.scalars(select(StaleRegistration.handling_node_id).where(StaleRegistration.month == MARCH)))
    assert marked == {org.nodes["county"].id, org.nodes["county2"].id}
    found = _agree(db, [MARCH], province)
    assert found[org.nodes["county2"].id].by_channel == {"video": 1}
    assert found[org.nodes["county"].id].registered == 2
    assert _count(db, StaleRegistration) == 0
    assert _agree(db, [MARCH], org.nodes["county2"].path)[org.nodes["county2"].id].by_category == {"wages": 1}


def test_a_demand_recategorised_added_or_removed_marks_the_month(client, org, db):
    _, first, both = _march(client, org)
    travel(2026, 4, 2)
    province, county_id = org.nodes["province"].path, org.nodes["county"].id
    assert _agree(db, [MARCH], province)[county_id].by_category == {"wages": 2, "land": 2}
    with db.transaction() as s:
        s.scalars(select(Demand).where(Demand.matter_id == first["id"])).one().category = "housing"
    assert _count(db, StaleRegistration, month=MARCH) == 1
    assert _agree(db, [MARCH], province)[county_id].by_category == {"wages": 1, "land": 2, "housing": 1}
    with db.transaction() as s:
        s.add(Demand(matter_id=first["id"], position=1, summary="另一诉求", category="land"))
    assert _agree(db, [MARCH], province)[county_id].by_category == {"wages": 1, "land": 3, "housing": 1}
    with db.transaction() as s:
        for demand in s.scalars(select(Demand).where(Demand.matter_id == both["id"], Demand.category == "wages")):
            s.delete(demand)
    assert _agree(db, [MARCH], province)[county_id].by_category == {"land": 3, "housing": 1}
    assert _count(db, StaleRegistration) == 0


def test_a_change_to_a_current_matter_marks_nothing(client, org, db):
    office, _, _ = _march(client, org)
    travel(2026, 4, 2)
    _agree(db, [MARCH], org.nodes["province"].path)
    april, _ = register(client, org, headers=office, serial=5, summary="四月事项")
    act(client, office, april["id"], "transfer", to_node_id=org.nodes["county2"].id, reason="属城西区职责。")
    assert _count(db, StaleRegistration) == 0


def test_the_month_end_job_stores_the_month_just_ended_and_recounts_the_marked(client, org, db, settings):
    office, first, _ = _march(client, org)
    moment = at(2026, 4, 1, 0, 5)
    travel(2026, 4, 1, 0, 5)
    jobs.run_once(settings, [jobs.month_end_figures], moment, db=db)
    assert _count(db, RegistrationMonth, month=MARCH) == 1
    with db.transaction() as s:
        s.scalars(select(Demand).where(Demand.matter_id == first["id"])).one().category = "housing"
    assert _count(db, StaleRegistration, month=MARCH) == 1
    jobs.run_once(settings, [jobs.month_end_figures], at(2026, 4, 1, 0, 10), db=db)
    assert _count(db, StaleRegistration) == 0
    with db.transaction() as s:
        stored = dict(s.execute(select(RegistrationCount.name, RegistrationCount.n).where(
            RegistrationCount.month == MARCH, RegistrationCount.kind == "category")).all())
    assert stored == {"wages": 1, "land": 2, "housing": 1}
    assert _agree(db, [MARCH], org.nodes["province"].path)[org.nodes["county"].id].by_category == stored


def test_a_matter_whose_channel_changes_marks_its_month(client, org, db):
    _, first, _ = _march(client, org)
    travel(2026, 4, 2)
    province, county_id = org.nodes["province"].path, org.nodes["county"].id
    _agree(db, [MARCH], province)
    with db.transaction() as s:
        s.get(Matter, first["id"]).channel = "letter"
    assert _count(db, StaleRegistration, month=MARCH, handling_node_id=county_id) == 1
    assert _agree(db, [MARCH], province)[county_id].by_channel == {"video": 1, "visit": 1, "letter": 1}
