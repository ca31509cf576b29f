"""现场接访 from the pages: the dashboard's button, the walk-in page, a walk-in now or later today, the override."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.factories import SH, add_plan, extend_org, page_client, register_matter
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.scheduling import ReceptionSession

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # page rules, not SQL
MONDAY_MORNING = datetime(2026, 3, 2, 10, 2, tzinfo=SH)


@pytest.fixture
def walk_in(app, org, settings, db):
    """Monday 10:02; the county leader's plan, and a matter the township registered this morning."""
    clock.travel_to(MONDAY_MORNING)
    extend_org(db, org)
    with db.transaction() as session:
        add_plan(session, org)
        matter, _ = register_matter(session, org, settings)
        return matter.id


def _form(client, matter_id: int, **fields) -> dict:
    page = client.get(f"/matters/{matter_id}/book?mode=walk_in")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return {
        "csrf_token": token,
        "mode": "walk_in",
        "reason": "群众现场来访",
        "minutes": "30",
        "when": "now",
        "leader_present": "on",
        **fields,
    }


def _sessions(db) -> list[ReceptionSession]:
    with db.transaction() as session:
        return list(session.scalars(select(ReceptionSession).order_by(ReceptionSession.id)))


def _booked_audit(db, session_id: int) -> dict:
    with db.transaction() as session:
        raw = session.scalar(
            select(AuditEvent.data).where(
                AuditEvent.action == "session.booked", AuditEvent.entity_id == str(session_id)
            )
        )
    return json.loads(raw)


def test_the_dashboard_leads_to_the_walk_in_page_and_on_to_the_form(app, org, walk_in):
    coordinator = page_client(app, "coord.county")
    dashboard = coordinator.get("/dashboard")
    assert 'href="/walk-in"' in dashboard.text and "data-walk-in-button" in dashboard.text
    listing = coordinator.get("/walk-in")
    assert listing.status_code == 200 and 'href="/matters/new"' in listing.text
    assert f'href="/matters/{walk_in}/book?mode=walk_in"' in listing.text
    form = coordinator.get(f"/matters/{walk_in}/book?mode=walk_in")
    assert "data-walk-in" in form.text and 'name="leader_present"' in form.text and 'type="time"' in form.text
    assert "现场接访" in form.text and "2026-03-02" in form.text
    # The ordinary booking page offers the walk-in too.
    assert f'href="/matters/{walk_in}/book?mode=walk_in"' in coordinator.get(f"/matters/{walk_in}/book").text
    # Only coordinators arrange walk-ins.
    assert page_client(app, "leader.county").get("/walk-in").status_code == 403
    assert page_client(app, "handler").get(f"/matters/{walk_in}/book?mode=walk_in").status_code == 403


def test_a_same_day_booking_is_past_the_cut_off_but_a_walk_in_starts_now(app, org, db, walk_in):
    coordinator = page_client(app, "coord.county")
    ids = {"leader_id": str(org.people["leader_county"].id), "room_id": str(org.rooms["township"].id)}
    # The planned way is closed for today (the bug the walk-in answers).
    planned = _form(coordinator, walk_in)
    planned = {"csrf_token": planned["csrf_token"], **ids, "start_at": "2026-03-02T11:00", "minutes": "30"}
    refused = coordinator.post(f"/matters/{walk_in}/book", data=planned, follow_redirects=False)
    assert refused.status_code == 422 and "预约已截止" in refused.text

    check = coordinator.post(f"/matters/{walk_in}/book/check", data=_form(coordinator, walk_in, **ids))
    assert 'data-check="ok"' in check.text
    assert _sessions(db) == []  # the check rolls back

    done = coordinator.post(f"/matters/{walk_in}/book", data=_form(coordinator, walk_in, **ids), follow_redirects=False)
    assert done.status_code == 303, done.text
    [item] = _sessions(db)
    assert done.headers["location"] == f"/sessions/{item.id}"
    assert item.ad_hoc and item.matter_id == walk_in and item.leader_id == org.people["leader_county"].id
    assert item.starts_at.astimezone(SH) == datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    assert item.ends_at.astimezone(SH) == datetime(2026, 3, 2, 10, 30, tzinfo=SH)
    audited = _booked_audit(db, item.id)
    assert audited["ad_hoc"] is True and audited["reason"] == "群众现场来访" and audited["overridden"] == []
    # It opens at once: the call page is the call, not a "not open yet" notice.
    call = page_client(app, "leader.county").get(f"/calls/{item.id}")
    assert 'id="call-config"' in call.text and "data-call-not-open" not in call.text


def test_a_walk_in_later_today_starts_at_the_chosen_time_and_only_today(app, org, db, walk_in):
    coordinator = page_client(app, "coord.county")
    ids = {"leader_id": str(org.people["leader_county"].id), "room_id": str(org.rooms["township"].id)}
    earlier = coordinator.post(
        f"/matters/{walk_in}/book", data=_form(coordinator, walk_in, **ids, when="later", at_time="09:00")
    )
    assert earlier.status_code == 422 and "开始时间已过" in earlier.text
    assert 'value="09:00"' in earlier.text and 'value="later" checked' in earlier.text  # the form comes back filled
    unconfirmed = _form(coordinator, walk_in, **ids, when="later", at_time="15:00")
    del unconfirmed["leader_present"]
    refused = coordinator.post(f"/matters/{walk_in}/book", data=unconfirmed)
    assert refused.status_code == 422 and "请确认接访领导今天在岗" in refused.text
    assert _sessions(db) == []

    done = coordinator.post(
        f"/matters/{walk_in}/book",
        follow_redirects=False,
        data=_form(coordinator, walk_in, **ids, when="later", at_time="15:00", minutes="45"),
    )
    assert done.status_code == 303, done.text
    [item] = _sessions(db)
    assert item.ad_hoc
    assert item.starts_at.astimezone(SH) == datetime(2026, 3, 2, 15, 0, tzinfo=SH)
    assert item.ends_at.astimezone(SH) == datetime(2026, 3, 2, 15, 45, tzinfo=SH)
    # The same leader cannot be in two walk-ins at once.
    again = coordinator.post(
        f"/matters/{walk_in}/book", data=_form(coordinator, walk_in, **ids, when="later", at_time="15:30")
    )
    assert again.status_code == 409


def test_a_walk_in_with_a_leader_above_needs_the_override_of_a_coordinator_at_that_level(app, org, db, walk_in):
    ids = {"leader_id": str(org.people["leader_city"].id), "room_id": str(org.rooms["township"].id)}
    city = page_client(app, "coord.city")
    skipped = city.post(f"/matters/{walk_in}/book", data=_form(city, walk_in, **ids))
    assert skipped.status_code == 422 and "越级" in skipped.text
    county = page_client(app, "coord.county")
    assert (
        county.post(
            f"/matters/{walk_in}/book", data=_form(county, walk_in, **ids, override_reason="领导要求")
        ).status_code
        == 403
    )
    assert _sessions(db) == []

    done = city.post(
        f"/matters/{walk_in}/book",
        data=_form(city, walk_in, **ids, override_reason="市领导现场督导"),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    [item] = _sessions(db)
    assert item.ad_hoc and item.override_reason == "市领导现场督导"
    audited = _booked_audit(db, item.id)
    assert audited["override_reason"] == "市领导现场督导" and "level_skip" in audited["overridden"]
