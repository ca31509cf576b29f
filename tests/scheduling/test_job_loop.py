"""The app's job loop runs the scheduling jobs too: session reminders (once each) and no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.cases.helpers import register
from tests.conftest import login
from vreception import clock, jobs
from vreception.models import Notification
from vreception.models.scheduling import ReceptionSession


def test_the_app_runs_reminders_once_and_marks_no_shows(app, client, org, db, settings):
    assert {"task_notices", "email_outbox", "session_reminders", "no_shows"} <= {j.__name__ for j in app.state.jobs}
    zone = ZoneInfo("Asia/Shanghai")
    clock.travel_to(datetime(2026, 3, 2, 10, tzinfo=zone))
    headers = login(client, "coord.county")
    matter, _ = register(client, org, headers=headers)
    start = datetime(2026, 3, 4, 9, tzinfo=zone)  # a Wednesday, two days ahead: before the cut-off
    booked = client.post("/api/v1/sessions", headers=headers, json={
        "kind": "reception", "leader_id": org.people["leader_county"].id, "room_ids": [org.rooms["township"].id],
        "matter_id": matter["id"], "invited": True, "reason": "约访", "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat()})
    assert booked.status_code == 201, booked.text

    def reminders():
        with db.transaction() as session:
            return session.scalar(select(func.count()).select_from(Notification)
                                  .where(Notification.subject_type == "session"))

    jobs.run_once(db, settings, app.state.jobs, start - timedelta(minutes=50))
    raised = reminders()
    assert raised >= 2  # the day-before and the hour-before reminders, to each recipient node
    jobs.run_once(db, settings, app.state.jobs, start - timedelta(minutes=40))
    assert reminders() == raised
    jobs.run_once(db, settings, app.state.jobs, start + timedelta(hours=1))
    with db.transaction() as session:
        assert session.get(ReceptionSession, booked.json()["id"]).state.value == "no_show"
