"""The notification outbox is shown: supervision on the office's dashboard, reminders on the unit's tasks."""

from __future__ import annotations

from tests.cases.helpers import at, travel
from tests.factories import page_client, register
from vreception import jobs


def test_notices_appear_for_the_office_and_the_unit_only(app, client, org, db, settings):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": org.nodes["county_dept"].id, "title": "核实<b>情况</b>", "due_at": at(2026, 3, 20, 17).isoformat()})
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 18, 9), db=db)
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 21, 9), db=db)
    travel(2026, 3, 21)
    dashboard = page_client(app, "coord.county").get("/dashboard").text
    assert "【督办】城东区人社局：核实&lt;b&gt;情况&lt;/b&gt; 已逾期" in dashboard
    unit = page_client(app, "handler").get("/tasks").text
    assert "【提醒】核实&lt;b&gt;情况&lt;/b&gt;" in unit and "【督办】" not in unit
    other = page_client(app, "coord.county2").get("/dashboard").text
    assert "核实" not in other
