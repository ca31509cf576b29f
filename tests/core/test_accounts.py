"""One's own password and an administrator's deactivation: each ends every page session, API token and feed URL."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PASSWORD, login
from tests.factories import add_person
from tests.web.scene import csrf_of, page_client
from vreception.models import AuditEvent, Person, SignIn

NEW_PASSWORD = "Nëw-pass-2026"


def _feed(client, headers, leader_id: int) -> tuple[str, str]:
    url = client.get(f"/api/v1/calendars/leaders/{leader_id}/feed", headers=headers).json()["url"]
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)["token"][0]


def _everything_of(app, client, username: str, leader_id: int) -> dict:
    """Two API tokens, a page session and a calendar feed URL of USERNAME."""
    first, second = login(client, username), login(client, username)
    browser = page_client(app, username)
    path, feed = _feed(client, first, leader_id)
    return {"first": first, "second": second, "browser": browser, "feed": (path, feed)}


def _still_open(client, held: dict) -> dict:
    path, feed = held["feed"]
    return {"first": client.get("/api/v1/auth/me", headers=held["first"]).status_code,
            "second": client.get("/api/v1/auth/me", headers=held["second"]).status_code,
            "page": held["browser"].get("/agenda", follow_redirects=False).status_code,
            "feed": client.get(path, params={"token": feed}).status_code}


def test_changing_ones_password_ends_every_sign_in_and_feed_and_answers_a_fresh_token(app, client, org, db):
    leader = org.people["leader_county"]
    held = _everything_of(app, client, "leader.county", leader.id)
    assert _still_open(client, held) == {"first": 200, "second": 200, "page": 200, "feed": 200}
    changed = client.post("/api/v1/auth/password", headers=held["first"],
                          json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert _still_open(client, held) == {"first": 401, "second": 401, "page": 303, "feed": 401}
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=fresh).json()["id"] == leader.id
    old = client.post("/api/v1/auth/login", json={"username": "leader.county", "password": PASSWORD})
    assert old.status_code == 401
    assert login(client, "leader.county", NEW_PASSWORD)
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "person",
                                                          AuditEvent.entity_id == str(leader.id))).all()
        revoked = [json.loads(e.data) for e in events if e.action == "auth.revoked"]
        assert "auth.password_changed" in {e.action for e in events}
        assert revoked == [{"reason": "password_changed", "sign_ins": 4}]  # two tokens, a page, a feed
        assert session.scalar(select(SignIn).where(SignIn.person_id == leader.id, SignIn.revoked_at.is_(None),
                                                   SignIn.via == "feed")) is None


def test_a_wrong_current_password_is_refused_and_counts_toward_the_lock(client, org, settings, db):
    headers = login(client, "coord.county")
    wrong = {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    answer = client.post("/api/v1/auth/password", headers=headers, json=wrong)
    assert answer.status_code == 422 and answer.json()["code"] == "password_wrong"
    assert answer.json()["field"] == "current_password" and "当前密码" in answer.json()["detail"]
    with db.transaction() as session:
        assert session.get(Person, org.people["coord_county"].id).failed_logins == 1  # kept despite the error
    for _ in range(settings.login_failures_before_lock - 1):
        client.post("/api/v1/auth/password", headers=headers, json=wrong)
    # Guessing through a stolen token locked the account, which ended the token itself.
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "coord.county", "password": PASSWORD})
    assert locked.status_code == 423


def test_a_new_password_must_be_long_enough_and_new(client, org):
    headers = login(client, "coord.county")
    short = client.post("/api/v1/auth/password", headers=headers,
                        json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and short.json()["field"] == "new_password"
    same = client.post("/api/v1/auth/password", headers=headers,
                       json={"current_password": PASSWORD, "new_password": PASSWORD})
    assert same.status_code == 422 and same.json()["detail"] == "新密码不能与当前密码相同。"
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # nothing was ended
    assert client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                      "new_password": NEW_PASSWORD}).status_code == 401


def test_the_password_page_ends_every_other_sign_in_and_keeps_this_browser_signed_in(app, client, org):
    browser = page_client(app, "coord.county")
    stolen = TestClient(app, headers={"accept": "text/html"})
    stolen.cookies.set("vr_session", browser.cookies.get("vr_session"))
    api = login(client, "coord.county")
    page = browser.get("/account/password")
    assert page.status_code == 200 and 'name="new_password"' in page.text
    token = csrf_of(page.text)
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert browser.post("/account/password", data=form).status_code == 403  # no CSRF token
    mismatch = browser.post("/account/password", data={**form, "confirm_password": "other-pass-1", "csrf_token": token})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
    done = browser.post("/account/password", data={**form, "csrf_token": token})
    assert done.status_code == 200 and "密码已修改" in done.text
    assert browser.get("/dashboard", follow_redirects=False).status_code == 200
    assert stolen.get("/dashboard", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/auth/me", headers=api).status_code == 401
    assert page_client(app, None).get("/account/password", follow_redirects=False).headers["location"] == "/login"


def test_deactivation_ends_every_sign_in_and_is_an_administrators_act_over_the_persons_node(app, client, org, db):
    leader = org.people["leader_county"]
    held = _everything_of(app, client, "leader.county", leader.id)
    path = f"/api/v1/people/{leader.id}/deactivate"
    assert client.post(path, headers=login(client, "coord.province")).status_code == 403  # not an administrator
    with db.transaction() as session:
        add_person(session, org, "admin_county2", "admin", "county2")
    assert client.post(path, headers=login(client, "admin.county2")).status_code == 403  # another county's
    admin = login(client, "admin")
    assert client.post(path, headers=admin).status_code == 204
    # The feed answers 404 now: its leader is no longer an active person (and its sign-in is ended, below).
    assert _still_open(client, held) == {"first": 401, "second": 401, "page": 303, "feed": 404}
    assert client.post("/api/v1/auth/login", json={"username": "leader.county", "password": PASSWORD}).status_code == 401
    assert client.post(f"/api/v1/people/{org.people['admin'].id}/deactivate", headers=admin).status_code == 409
    assert client.post("/api/v1/people/999999/deactivate", headers=admin).status_code == 404
    with db.transaction() as session:
        held_until = session.scalar(select(SignIn.revoked_at).where(SignIn.person_id == leader.id,
                                                                    SignIn.via == "feed"))
    assert held_until is not None
    assert client.post(f"/api/v1/people/{leader.id}/reactivate", headers=admin).status_code == 204
    assert _still_open(client, held)["first"] == 401  # what was ended stays ended
    assert login(client, "leader.county")
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "person", AuditEvent.entity_id == str(leader.id)).order_by(AuditEvent.seq))]
        assert session.scalar(select(SignIn).where(SignIn.person_id == leader.id, SignIn.revoked_at.is_(None),
                                                   SignIn.created_at < held_until)) is None
    assert actions.index("person.deactivated") < actions.index("auth.revoked") < actions.index("person.reactivated")


def test_only_an_administrator_over_the_persons_node_unlocks_them(client, org, settings, db):
    with db.transaction() as session:
        add_person(session, org, "admin_county2", "admin", "county2")
    for _ in range(settings.login_failures_before_lock):
        client.post("/api/v1/auth/login", json={"username": "coord.county", "password": "wrong-password"})
    person = org.people["coord_county"].id
    assert client.post(f"/api/v1/people/{person}/unlock", headers=login(client, "admin.county2")).status_code == 403
    assert client.post(f"/api/v1/people/{person}/unlock", headers=login(client, "admin")).status_code == 204
    assert login(client, "coord.county")
