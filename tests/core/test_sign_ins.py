"""Sign-in security: throttled per client, accounts lock after failures, every token and cookie revocable."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PASSWORD, login
from tests.web.scene import csrf_of, page_client
from vreception.models import AuditEvent, Person


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_an_api_token_ends_at_logout(client, org):
    headers = login(client, "coord.county")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    refused = client.get("/api/v1/auth/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert client.get("/api/v1/auth/me", headers=login(client, "coord.county")).status_code == 200


def test_a_page_sign_out_ends_every_copy_of_the_cookie(app, org):
    browser = page_client(app, "coord.county")
    stolen = TestClient(app, headers={"accept": "text/html"})
    stolen.cookies.set("vr_session", browser.cookies.get("vr_session"))
    assert stolen.get("/dashboard", follow_redirects=False).status_code == 200
    token = csrf_of(browser.get("/dashboard").text)
    assert browser.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert stolen.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_repeated_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it(client, org, settings, db):
    before = login(client, "coord.county")
    for _ in range(settings.login_failures_before_lock):
        assert _login(client, "coord.county", "wrong-password").status_code == 401
    locked = _login(client, "coord.county")
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
    assert "锁定" in locked.json()["detail"]
    # The lock also ends the sign-ins made before it.
    assert client.get("/api/v1/auth/me", headers=before).status_code == 401
    person = org.people["coord_county"].id
    assert client.post(f"/api/v1/people/{person}/unlock", headers=login(client, "coord.province")).status_code == 403
    assert client.post(f"/api/v1/people/{person}/unlock", headers=login(client, "admin")).status_code == 204
    assert _login(client, "coord.county").status_code == 200
    with db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "person",
                                                                              AuditEvent.entity_id == str(person))
                                                     .order_by(AuditEvent.seq))]
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.failed")).all()
        assert session.get(Person, person).failed_logins == 0
    assert actions.count("auth.failed") == settings.login_failures_before_lock
    assert {"auth.locked", "auth.revoked", "auth.refused_locked", "auth.unlocked"} <= set(actions)
    assert {json.loads(e.data)["username"] for e in failed} == {"coord.county"}


def test_a_wrong_password_for_a_locked_account_reads_like_any_wrong_password(client, org, settings):
    for _ in range(settings.login_failures_before_lock + 2):
        answer = _login(client, "coord.county2", "wrong-password")
    assert answer.status_code == 401 and answer.json()["code"] == "bad_credentials"


def test_a_client_guessing_many_accounts_is_throttled(client, org, settings):
    for i in range(settings.login_failures_per_client):
        assert _login(client, f"nobody{i}", "guess").status_code == 401
    throttled = _login(client, "coord.county")
    assert throttled.status_code == 429 and throttled.json()["code"] == "rate_limited"


def test_signing_in_on_a_page_rotates_the_csrf_nonce(app, org):
    browser = TestClient(app, headers={"accept": "text/html"})
    token = csrf_of(browser.get("/login").text)
    planted = browser.cookies.get("vr_csrf")
    answer = browser.post("/login", data={"username": "coord.county", "password": PASSWORD, "csrf_token": token},
                          follow_redirects=False)
    assert answer.status_code == 303
    assert browser.cookies.get("vr_csrf") in (None, "") or browser.cookies.get("vr_csrf") != planted
    fresh = csrf_of(browser.get("/dashboard").text)
    assert fresh != token
