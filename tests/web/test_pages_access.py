"""Every page route with every role (in and out of the subtree, signed out): 200, 303 or 403 as the API decides."""

from __future__ import annotations

import pytest

from tests.factories import build_scene, page_client, token

ROLES = ("coord.county", "coord.county2", "leader.county", "handler", "room.township", "hearing", None)
OK, GO, NO = 200, 303, 403


@pytest.fixture
def scene(app, org, settings, db):
    return build_scene(db, org, settings)


@pytest.fixture
def clients(app, scene):
    return {role: page_client(app, role) for role in ROLES}


def gets(s, org):
    """Route → expected status for (coord in, coord out, leader, handler, room, hearing member, signed out)."""
    return {
        "/": (GO, GO, GO, GO, GO, OK, GO),
        "/dashboard": (OK, OK, NO, NO, NO, NO, GO),
        "/dashboard/live": (OK, OK, NO, NO, NO, NO, GO),
        "/matters": (OK, OK, OK, NO, NO, NO, GO),
        "/matters/new": (OK, OK, NO, NO, NO, NO, GO),
        f"/matters/{s.matter}": (OK, NO, OK, OK, NO, NO, GO),
        f"/matters/{s.matter}/book": (OK, NO, NO, NO, NO, NO, GO),
        f"/sessions/{s.session}": (OK, NO, OK, NO, OK, NO, GO),
        # The call page seats participants, and a coordinator over the session (to run the lobby).
        f"/calls/{s.session}": (OK, NO, OK, NO, OK, NO, GO),
        "/tasks": (OK, OK, OK, OK, NO, NO, GO),
        f"/tasks/{s.task}": (OK, NO, OK, OK, NO, NO, GO),
        f"/documents/{s.document}.html": (OK, NO, OK, OK, NO, NO, GO),
        f"/attachments/{s.attachment}": (OK, NO, OK, OK, NO, NO, GO),
        "/agenda": (NO, NO, OK, NO, NO, NO, GO),
        "/kiosk": (NO, NO, NO, NO, OK, NO, GO),
        f"/kiosk/sessions/{s.session}/consent": (NO, NO, NO, NO, OK, NO, GO),
        f"/kiosk/sessions/{s.session}/rate": (NO, NO, NO, NO, OK, NO, GO),
        "/leader-plans": (OK, OK, OK, NO, NO, NO, GO),
        f"/leader-plans/{s.plan}/edit": (OK, NO, NO, NO, NO, NO, GO),
        "/self-test": (OK, OK, OK, OK, OK, OK, GO),
        "/lookup": (OK, OK, OK, OK, OK, OK, OK),
        "/plans": (OK, OK, OK, OK, OK, OK, OK),
        f"/plans/{org.nodes['county'].id}": (OK, OK, OK, OK, OK, OK, OK),
    }


def test_every_page_route_checks_role_and_subtree(clients, scene, org):
    wrong = []
    for url, expected in gets(scene, org).items():
        for role, status in zip(ROLES, expected, strict=True):
            got = clients[role].get(url, follow_redirects=False).status_code
            if got != status:
                wrong.append((url, role, status, got))
    assert not wrong, wrong


def test_signed_out_visitor_is_sent_to_login_and_roles_to_their_pages(clients):
    assert clients[None].get("/dashboard", follow_redirects=False).headers["location"] == "/login"
    homes = {"coord.county": "/dashboard", "leader.county": "/agenda", "room.township": "/kiosk", "handler": "/tasks"}
    for role, target in homes.items():
        assert clients[role].get("/", follow_redirects=False).headers["location"] == target


def posts(s, org):
    """Route, form → the roles refused (403); signed-out visitors are sent to /login."""
    outsiders = ("coord.county2", "handler", "room.township", "hearing")
    return [
        (f"/matters/{s.matter}/actions", {"action": "extend", "days": "10", "reason": "x",
                                          "approved_by": str(org.people["leader_county"].id)},
         outsiders + ("leader.county",)),
        (f"/matters/{s.matter}/book", {"leader_id": "1", "room_id": "1"}, outsiders + ("leader.county",)),
        (f"/matters/{s.matter}/book/check", {"leader_id": "1", "room_id": "1"}, outsiders + ("leader.county",)),
        (f"/matters/{s.matter}/tasks", {"title": "t"}, outsiders),
        ("/matters", {"petitioner_name": "x"}, ("leader.county", "handler", "room.township", "hearing")),
        ("/matters/new/repeat-check", {}, ("leader.county", "handler", "room.township", "hearing")),
        (f"/tasks/{s.task}/report", {"text": "done"}, ("coord.county", "coord.county2", "leader.county", "room.township", "hearing")),
        (f"/tasks/{s.task}/move", {"action": "accept"}, ("coord.county", "coord.county2", "room.township", "hearing")),
        (f"/sessions/{s.session}/cancel", {"reason": "x"}, outsiders + ("leader.county",)),
        (f"/sessions/{s.session}/reschedule", {"slot": ""}, outsiders + ("leader.county",)),
        ("/leader-plans", {"leader_id": "1"}, ("leader.county", "handler", "room.township", "hearing")),
        (f"/leader-plans/{s.plan}", {"leader_id": "1"}, outsiders + ("leader.county",)),
        (f"/leader-plans/{s.plan}/withdraw", {}, outsiders + ("leader.county",)),
        (f"/kiosk/sessions/{s.session}/consent", {"agree": "yes"}, ("coord.county", "leader.county", "handler", "hearing")),
        (f"/kiosk/sessions/{s.session}/rate", {"code": "X", "rating": "satisfied"}, ("coord.county", "leader.county", "handler", "hearing")),
    ]


def test_every_form_refuses_the_wrong_role_and_the_signed_out(clients, scene, org, db):
    wrong = []
    for url, form, refused in posts(scene, org):
        for role in refused + (None,):
            client = clients[role]
            got = client.post(url, data={**form, "csrf_token": token(client)}, follow_redirects=False).status_code
            if got != (GO if role is None else NO):
                wrong.append((url, role, got))
    assert not wrong, wrong
    from vreception.models import Matter
    from vreception.models.scheduling import ReceptionSession

    with db.transaction() as session:
        assert session.get(Matter, scene.matter).extended is False
        assert session.get(ReceptionSession, scene.session).state.value == "booked"


def test_every_form_without_its_csrf_token_is_refused(clients, scene, org, db):
    everyone = [(url, form) for url, form, _ in posts(scene, org)] + [
        ("/lookup", {"number": scene.number, "code": scene.code}), ("/lookup/rate", {"rating": "satisfied"}),
        (f"/lookup/documents/{scene.document}", {}), (f"/tasks/{scene.task}/move", {"action": "verify"})]
    allowed = {"/matters": "coord.county", f"/tasks/{scene.task}/report": "handler", "/leader-plans": "coord.county",
               f"/kiosk/sessions/{scene.session}/consent": "room.township",
               f"/kiosk/sessions/{scene.session}/rate": "room.township"}
    for url, form in everyone:
        client = clients[allowed.get(url, "coord.county")]
        for bad in ({}, {"csrf_token": "forged.token"}):
            response = client.post(url, data={**form, **bad}, follow_redirects=False)
            assert response.status_code == 403, (url, bad, response.status_code)
            # A browser gets the refusal as a page in its language.
            assert "表单已失效" in response.text and response.headers["content-type"].startswith("text/html")
    from vreception.models import Matter

    with db.transaction() as session:
        assert session.get(Matter, scene.matter).extended is False
