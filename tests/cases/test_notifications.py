"""Task reminders, warnings and supervision: raised once each, shown, and e-mailed through real SMTP."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from tests.cases.helpers import at, travel
from tests.factories import register
from vreception import jobs
from vreception.models import Notification, Person


def _notices(db):
    with db.transaction() as session:
        # The matter's own acceptance deadline has notices too (tests/cases/test_supervision.py): tasks only here.
        return sorted((n.stage, n.node_id) for n in session.scalars(
            select(Notification).where(Notification.subject_type == "task")))


def test_reminder_warning_supervision_each_once(client, org, db, settings):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": org.nodes["county_dept"].id, "title": "核实情况", "due_at": at(2026, 3, 20, 17).isoformat()})
    unit, county = org.nodes["county_dept"].id, org.nodes["county"].id
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 10), db=db)
    assert _notices(db) == []
    for _ in range(2):  # running again raises nothing new
        jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 18, 9), db=db)
    assert _notices(db) == [("reminder", unit)]
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 20, 9), db=db)
    assert _notices(db) == [("reminder", unit), ("warning", unit)]
    for _ in range(2):
        jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 21, 9), db=db)
    assert _notices(db) == [("overdue", unit), ("reminder", unit), ("supervision", county), ("warning", unit)]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_notices_are_emailed_once_through_smtp(client, org, db, settings, smtp_server):
    inbox, port = smtp_server
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    with db.transaction() as session:
        session.get(Person, org.people["handler"].id).email = "handler@example.test"
    travel(2026, 3, 2)
    matter, office = register(client, org)
    client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": org.nodes["county_dept"].id, "title": "核实情况", "due_at": at(2026, 3, 20, 17).isoformat()})
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 18, 9), db=db)
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 18, 10), db=db)
    assert len(inbox.messages) == 1
    assert inbox.messages[0].rcpt_tos == ["handler@example.test"]
    from email import message_from_bytes, policy

    message = message_from_bytes(inbox.messages[0].content, policy=policy.default)
    assert message["Subject"] == "【提醒】核实情况 将于3月20日到期"
    with db.transaction() as session:
        assert session.scalars(select(Notification).where(Notification.subject_type == "task")).one().emailed_at \
            is not None
