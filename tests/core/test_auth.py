"""Sign-in, tokens, expiry and the role / node-subtree checks."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher

from tests.factories import PASSWORD, add_person, login
from vreception import clock
from vreception.auth import passwords


def test_production_hasher_is_argon2id_with_sound_parameters():
    hasher = PasswordHasher()
    assert hasher.type.name == "ID"
    assert hasher.memory_cost >= 19456 and hasher.time_cost >= 2


def test_password_hash_is_not_the_password():
    digest = passwords.hash_password("correct horse")
    assert "correct horse" not in digest and digest.startswith("$argon2id$")
    assert passwords.check_password("correct horse", digest)
    assert not passwords.check_password("wrong", digest)
    assert not passwords.check_password("x", None)


def test_login_returns_token_and_user(client, org):
    response = client.post("/api/v1/auth/login", json={"username": "coord.county", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    assert body["user"] == {"id": org.people["coord_county"].id, "name": "测试coord_county",
                            "roles": ["coordinator"], "node_id": org.nodes["county"].id}


def test_bad_password_is_401_bad_credentials_in_chinese_and_english(client, org):
    response = client.post("/api/v1/auth/login", json={"username": "coord.county", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json() == {"code": "bad_credentials", "detail": "用户名或密码错误。"}
    response = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope-nope"},
                           headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_missing_and_garbage_tokens_are_401(client, org):
    assert client.get("/api/v1/nodes").json()["code"] == "unauthenticated"
    response = client.get("/api/v1/nodes", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_token_expires(client, org, settings):
    headers = login(client, "coord.county")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock.travel_to(clock.now() + timedelta(minutes=settings.token_ttl_minutes + 1))
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "登录已过期，请重新登录。"


def test_token_signed_with_another_key_is_refused(client, org):
    from vreception.auth import tokens

    forged, _ = tokens.issue("x" * 48, subject=str(org.people["admin"].id), purpose="api", ttl=timedelta(hours=1))
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_page_cookie_token_is_not_an_api_token(client, org, app):
    from vreception.auth import tokens

    page_token, _ = tokens.issue(app.state.secret, subject=str(org.people["admin"].id), purpose="page",
                                 ttl=timedelta(hours=1))
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {page_token}"}).status_code == 401


def test_admin_outside_subtree_is_403(client, org, db):
    with db.transaction() as session:
        add_person(session, org, "admin_county", "admin", "county", name="区管理员")
    headers = login(client, "admin.county")
    inside = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580102002", "name": "柳河镇", "level": "township", "parent_id": org.nodes["county"].id})
    assert inside.status_code == 201, inside.text
    outside = client.post("/api/v1/nodes", headers=headers, json={
        "code": "580103002", "name": "龙泉镇", "level": "township", "parent_id": org.nodes["county2"].id})
    assert outside.status_code == 403
    assert outside.json()["code"] == "forbidden"


def test_non_admin_cannot_create_nodes_rooms_or_people(client, org):
    headers = login(client, "coord.province")
    province = org.nodes["province"].id
    assert client.post("/api/v1/nodes", headers=headers, json={
        "code": "580900", "name": "新市", "level": "city", "parent_id": province}).status_code == 403
    assert client.post("/api/v1/rooms", headers=headers, json={"node_id": province, "name": "x"}).status_code == 403
    assert client.post("/api/v1/people", headers=headers, json={"node_id": province, "name": "x"}).status_code == 403


def test_room_account_cannot_browse_directory(client, org):
    headers = login(client, "room.township")
    assert client.get("/api/v1/people?role=leader", headers=headers).status_code == 403


def test_inactive_person_cannot_sign_in(client, org, db):
    from vreception.models import Person

    with db.transaction() as session:
        session.get(Person, org.people["handler"].id).active = False
    response = client.post("/api/v1/auth/login", json={"username": "handler", "password": PASSWORD})
    assert response.status_code == 401
