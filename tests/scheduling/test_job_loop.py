"""The app's job loop runs the scheduling jobs too: session reminders (once each) and no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import login, register
from tests.scheduling.conftest import at, reception
from vreception import clock, jobs
from vreception.config import Settings
from vreception.models import Notification
from vreception.models.scheduling import Claim, ReceptionSession


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

    jobs.run_once(settings, app.state.jobs, start - timedelta(minutes=50), db=db)
    raised = reminders()
    assert raised >= 2  # the day-before and the hour-before reminders, to each recipient node
    jobs.run_once(settings, app.state.jobs, start - timedelta(minutes=40), db=db)
    assert reminders() == raised
    jobs.run_once(settings, app.state.jobs, start + timedelta(hours=1), db=db)
    with db.transaction() as session:
        assert session.get(ReceptionSession, booked.json()["id"]).state.value == "no_show"


class TestTheNoShowJobReadsTheAppSettings:
    """Grace and claim quantum come from the settings the app was built with, not from the process environment."""

    @pytest.fixture
    def settings(self, db, tmp_path) -> Settings:
        return Settings(mode="dev", database_url=db.url, data_dir=tmp_path / "var", secret_key="t" * 48,
                        media_host_addresses=["127.0.0.1"], job_interval_seconds=0,
                        no_show_grace_minutes=30, slot_quantum_minutes=15)

    def test_grace_and_quantum_of_the_app(self, app, client, world, db, settings):
        booked = client.post("/api/v1/sessions", headers=login(client, "coord.county"), json=reception(world))
        assert booked.status_code == 201, booked.text
        booking_id = booked.json()["id"]

        def state_and_claims():
            with db.transaction() as session:
                slots = session.scalars(select(Claim.slot).where(Claim.session_id == booking_id))
                return (session.get(ReceptionSession, booking_id).state.value,
                        sorted({s.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") for s in slots}))

        assert state_and_claims() == ("booked", ["09:00", "09:15", "09:30"])  # the leader's buffer runs to 09:40
        jobs.run_once(settings, app.state.jobs, at("2026-03-04", "09:20"), db=db)  # past 15 minutes, within 30
        assert state_and_claims()[0] == "booked"
        jobs.run_once(settings, app.state.jobs, at("2026-03-04", "09:35"), db=db)
        # What is left from 09:35's quarter-hour (09:30) is free: the app's quantum, not the default 5 minutes.
        assert state_and_claims() == ("no_show", ["09:00", "09:15"])
