"""A province's registrations of the running month (the statistics' by channel and by category) are kept for
monthly_figures.LIVE_SECONDS, as its live rates are: read again, not counted again; a matter registered or a demand
recategorised in this process shows on the next read, its unit counted again; kept and fresh counts agree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select

from tests.cases.helpers import FreshHeaders, register, travel
from vreception.cases import monthly_figures
from vreception.cases import statistics as figures
from vreception.models import Demand, Matter

MARCH = date(2026, 3, 1)


def _counts(db, org) -> tuple[int, dict[str, int], dict[str, int]]:
    """The province's March: matters registered, by channel, by category (summed over its units)."""
    path = org.nodes["province"].path
    with db.transaction() as s:
        found = figures.matter_counts(db=s, months=[MARCH], within=Matter.handling_path.startswith(path),
                                      by_key=True, paths=[path])
    total = figures.MatterCounts()
    for unit in found.values():
        total.merge(unit)
    return total.registered, total.by_channel, total.by_category


def test_the_running_months_registrations_are_kept_and_this_process_changes_show_at_once(client, org, db):
    travel(2026, 3, 2)
    office = FreshHeaders(client, "coord.county")
    first, _ = register(client, org, headers=office, serial=1, summary="事项一")
    register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 20)
    monthly_figures.forget_recent()
    seen: list[str] = []

    def listener(conn, cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        before = _counts(db, org)
        seen.clear()
        assert _counts(db, org) == before
        assert not [s for s in seen if "registered_at" in s]  # the kept count: no count of the matters again
        register(client, org, headers=office, serial=3, summary="事项三", category="land")
        seen.clear()
        added = _counts(db, org)
        assert [s for s in seen if "registered_at" in s]  # the new matter's unit counted again
        with db.transaction() as s:
            demand = s.scalars(select(Demand).where(Demand.matter_id == first["id"])).one()
            demand.category = "land"
        moved = _counts(db, org)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert before[0] == 2 and before[2] == {"wages": 1, "land": 1}
    assert added[0] == 3 and added[2] == {"wages": 1, "land": 2}
    assert moved[0] == 3 and moved[2] == {"land": 3}
    monthly_figures.forget_recent()
    assert _counts(db, org) == moved  # counted afresh, the same
