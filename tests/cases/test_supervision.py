"""A matter's own statutory deadlines are supervised: reminder, warning, 督办 to the superior — each once."""

from __future__ import annotations

from sqlalchemy import select

from tests.cases.helpers import act, at, travel
from tests.factories import extend_org, page_client, register
from vreception import jobs
from vreception.models import Deadline, Notification, Person


def _notices(db):
    with db.transaction() as session:
        return sorted((n.stage, n.node_id, n.subject_id) for n in session.scalars(
            select(Notification).where(Notification.subject_type == "deadline")))


def _deadline_id(db, matter_id, kind):
    with db.transaction() as session:
        return session.scalars(select(Deadline.id).where(Deadline.matter_id == matter_id, Deadline.kind == kind)
                               .order_by(Deadline.id.desc())).first()


def _run_three_times(db, settings, moment):
    for _ in range(3):
        jobs.run_once(settings, jobs.CORE_JOBS, moment, db=db)


def test_acceptance_deadline_reminder_warning_supervision_each_once(client, org, db, settings):
    travel(2026, 3, 2)  # the acceptance deadline falls on 03-17
    matter, _ = register(client, org)
    acceptance = _deadline_id(db, matter["id"], "acceptance")
    county, city = org.nodes["county"].id, org.nodes["city"].id
    _run_three_times(db, settings, at(2026, 3, 10))
    assert _notices(db) == []
    _run_three_times(db, settings, at(2026, 3, 15, 9))  # two days before: settings.task_reminder_days
    assert _notices(db) == [("reminder", county, acceptance)]
    _run_three_times(db, settings, at(2026, 3, 17, 9))
    assert _notices(db) == [("reminder", county, acceptance), ("warning", county, acceptance)]
    _run_three_times(db, settings, at(2026, 3, 18, 9))
    _run_three_times(db, settings, at(2026, 3, 25, 9))
    assert _notices(db) == [("overdue", county, acceptance), ("reminder", county, acceptance),
                            ("supervision", city, acceptance), ("warning", county, acceptance)]
    with db.transaction() as session:
        supervision = session.scalars(select(Notification).where(Notification.stage == "supervision")).one()
        assert supervision.kind == "deadline.supervision"
        assert supervision.title.startswith("【督办】城东区：") and matter["number"] in supervision.title


def test_supervision_is_emailed_to_the_superior_coordinators_only(client, org, db, settings):
    extend_org(db, org)
    with db.transaction() as session:
        for key, email in (("coord_city", "city-office@example.cn"), ("leader_city", "mayor@example.cn")):
            session.get(Person, org.people[key].id).email = email
    travel(2026, 3, 2)
    register(client, org)
    jobs.run_once(settings, jobs.CORE_JOBS, at(2026, 3, 18, 9), db=db)
    with db.transaction() as session:
        supervision = session.scalars(select(Notification).where(Notification.stage == "supervision")).one()
        assert supervision.node_id == org.nodes["city"].id
        assert supervision.email_to == "city-office@example.cn"


def test_handling_and_review_decision_deadlines_are_supervised_and_met_ones_are_not(client, org, db, settings):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    travel(2026, 3, 10)
    act(client, office, matter["id"], "accept")  # acceptance met; handling due 05-09
    handling = _deadline_id(db, matter["id"], "handling")
    _run_three_times(db, settings, at(2026, 3, 20, 9))
    assert _notices(db) == []  # the met acceptance deadline owes nothing
    _run_three_times(db, settings, at(2026, 5, 10, 9))
    assert {(stage, subject) for stage, _, subject in _notices(db)} == {("supervision", handling),
                                                                      ("overdue", handling)}
    travel(2026, 5, 12)
    act(client, office, matter["id"], "reply", outcome="support", reason="支持。")
    act(client, office, matter["id"], "serve")
    act(client, office, matter["id"], "request_review")
    review = _deadline_id(db, matter["id"], "review_decision")
    _run_three_times(db, settings, at(2026, 7, 1, 9))
    stages = [(stage, node) for stage, node, subject in _notices(db) if subject == review]
    # The review decision is owed by the body one level up (the city): 督办 goes above it, to the province.
    assert sorted(stages) == [("overdue", org.nodes["city"].id), ("supervision", org.nodes["province"].id)]
    assert len(_notices(db)) == 4


def test_overdue_matters_on_the_dashboard_of_the_subtree_only(app, client, org, db, settings):
    extend_org(db, org)
    travel(2026, 3, 2)
    late, office = register(client, org, serial=1, summary="事项一")
    in_time, _ = register(client, org, headers=office, serial=2, summary="事项二", category="land")
    travel(2026, 3, 10)
    act(client, office, in_time["id"], "accept")
    travel(2026, 3, 20)
    dashboard = page_client(app, "coord.county").get("/dashboard").text
    section = dashboard[dashboard.index('id="overdue-matters"'):]
    assert late["number"] in section and in_time["number"] not in section
    assert "受理告知期限" in section and "逾期 3 天" in section
    assert late["number"] in page_client(app, "coord.city").get("/dashboard").text
    assert late["number"] not in page_client(app, "coord.county2").get("/dashboard").text
