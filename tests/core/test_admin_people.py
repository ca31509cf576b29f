"""Administrators manage accounts: edit, roles, password resets that must be changed, locks, open sign-ins.

Runs on SQLite and PostgreSQL (the `db` fixture): the subtree and open-sign-in filters are SQL.
"""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, login
from vreception import people
from vreception.auth import password_policy
from vreception.clock import now
from vreception.models import AuditEvent, Person, SignIn
from vreception.people import admin

NEW_PASSWORD = "Hill-river-2026"


def _county_admin(db, org) -> None:
    """admin.county: an administrator over county A only."""
    with db.transaction() as session:
        person = people.create_person(db=session, name="区管理员", node_id=org.nodes["county"].id,
                                      username="admin.county", password=PASSWORD)
        people.assign_role(db=session, person=person, role="admin", node_id=org.nodes["county"].id)


def _actions(db, person_id: int) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "person",
                                                                    AuditEvent.entity_id == str(person_id))
                                    .order_by(AuditEvent.id)))


def _person(db, person_id: int) -> Person:
    with db.transaction() as session:
        person = session.get(Person, person_id)
        session.expunge(person)
        return person


def test_temporary_passwords_pass_the_policy_and_differ():
    made = {admin.temporary_password() for _ in range(50)}
    assert len(made) == 50
    assert all(password_policy.weakness(p, username=None) is None for p in made)


def test_reset_password_must_be_changed_before_anything_else(client, org, db):
    headers = login(client, "admin")
    coord = org.people["coord_county"].id
    held = login(client, "coord.county")
    reset = client.post(f"/api/v1/people/{coord}/password-reset", headers=headers)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert reset.json()["must_change_password"] is True and reset.json()["username"] == "coord.county"
    assert client.get("/api/v1/auth/me", headers=held).status_code == 401  # every sign-in ended
    assert client.post("/api/v1/auth/login", json={"username": "coord.county", "password": PASSWORD}).status_code == 401

    signed = client.post("/api/v1/auth/login", json={"username": "coord.county", "password": temporary})
    assert signed.status_code == 200 and signed.json()["password_change_required"] is True
    limited = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    refused = client.get("/api/v1/nodes", headers=limited)
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    assert "临时密码" in refused.json()["detail"]
    assert client.get("/api/v1/auth/me", headers=limited).status_code == 200
    changed = client.post("/api/v1/auth/password", headers=limited,
                          json={"current_password": temporary, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200 and changed.json()["password_change_required"] is False
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/nodes", headers=fresh).status_code == 200
    assert client.get("/api/v1/auth/me", headers=limited).status_code == 401  # the change ended the limited one
    assert _person(db, coord).must_change_password is False
    assert {"auth.password_reset", "auth.revoked", "auth.password_changed"} <= set(_actions(db, coord))


def test_reset_lifts_a_lock_and_refuses_oneself_and_people_without_an_account(client, org, db):
    headers = login(client, "admin")
    coord = org.people["coord_county"].id
    with db.transaction() as session:  # locked after wrong passwords
        session.get(Person, coord).locked_at, session.get(Person, coord).failed_logins = now(), 10
    temporary = client.post(f"/api/v1/people/{coord}/password-reset", headers=headers).json()["temporary_password"]
    assert client.post("/api/v1/auth/login", json={"username": "coord.county", "password": temporary}).status_code == 200
    assert _person(db, coord).locked_at is None and _person(db, coord).failed_logins == 0
    own = client.post(f"/api/v1/people/{org.people['admin'].id}/password-reset", headers=headers)
    assert own.status_code == 409 and own.json()["code"] == "conflict"
    with db.transaction() as session:
        plain = people.create_person(db=session, name="无账号", node_id=org.nodes["county"].id).id
    assert client.post(f"/api/v1/people/{plain}/password-reset", headers=headers).status_code == 409
    assert client.post("/api/v1/people/999999/password-reset", headers=headers).status_code == 404


def test_a_county_admin_manages_only_accounts_within_the_county(client, org, db):
    _county_admin(db, org)
    headers = login(client, "admin.county")
    inside, above = org.people["coord_county"].id, org.people["coord_province"].id
    assert client.post(f"/api/v1/people/{inside}/password-reset", headers=headers).status_code == 200
    assert client.post(f"/api/v1/people/{above}/password-reset", headers=headers).status_code == 403
    assert client.post(f"/api/v1/people/{org.people['coord_county2'].id}/lock", headers=headers).status_code == 403
    # An account at the county whose role reaches the city is beyond a county administrator.
    with db.transaction() as session:
        leader = session.get(Person, org.people["leader_county"].id)
        people.assign_role(db=session, person=leader, role="leader", node_id=org.nodes["city"].id)
    assert client.post(f"/api/v1/people/{org.people['leader_county'].id}/lock", headers=headers).status_code == 403
    # Coordinators do not manage accounts at all.
    coord = login(client, "coord.province")
    assert client.post(f"/api/v1/people/{inside}/lock", headers=coord).status_code == 403
    assert client.get("/api/v1/sign-ins", headers=coord).status_code == 403


def test_edit_a_person(client, org, db):
    _county_admin(db, org)
    headers = login(client, "admin.county")
    coord = org.people["coord_county"].id
    moved = client.patch(f"/api/v1/people/{coord}", headers=headers,
                         json={"name": "王小明", "title": "科长", "node_id": org.nodes["township"].id})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["name"], moved.json()["title"], moved.json()["node_id"]) == \
        ("王小明", "科长", org.nodes["township"].id)
    assert moved.json()["node_name"] == "桃源镇"
    outside = client.patch(f"/api/v1/people/{coord}", headers=headers, json={"node_id": org.nodes["county2"].id})
    assert outside.status_code == 403
    empty = client.patch(f"/api/v1/people/{coord}", headers=headers, json={"name": "  "})
    assert empty.status_code == 422 and empty.json()["field"] == "name"
    assert client.patch(f"/api/v1/people/{coord}", headers=headers, json={"node_id": 999999}).status_code == 404
    assert client.patch("/api/v1/people/999999", headers=headers, json={"name": "x"}).status_code == 404
    assert _actions(db, coord).count("person.edited") == 1


def test_roles_are_given_and_taken_within_the_subtree(client, org, db):
    _county_admin(db, org)
    headers = login(client, "admin.county")
    coord = org.people["coord_county"].id
    held = login(client, "coord.county")
    given = client.post(f"/api/v1/people/{coord}/roles", headers=headers,
                        json={"role": "leader", "node_id": org.nodes["township"].id})
    assert given.status_code == 201 and given.json()["role"] == "leader"
    again = client.post(f"/api/v1/people/{coord}/roles", headers=headers,
                        json={"role": "leader", "node_id": org.nodes["township"].id})
    assert again.status_code == 409
    assert client.post(f"/api/v1/people/{coord}/roles", headers=headers,
                       json={"role": "leader", "node_id": org.nodes["city"].id}).status_code == 403
    unknown = client.post(f"/api/v1/people/{coord}/roles", headers=headers, json={"role": "king"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "role"
    kiosk = client.post(f"/api/v1/people/{coord}/roles", headers=headers,
                        json={"role": "room", "room_id": org.rooms["township"].id})
    assert kiosk.status_code == 201 and kiosk.json()["room_id"] == org.rooms["township"].id
    assert client.post(f"/api/v1/people/{coord}/roles", headers=headers,
                       json={"role": "room", "room_id": org.rooms["township2"].id}).status_code == 403

    taken = client.delete(f"/api/v1/people/{coord}/roles/{given.json()['id']}", headers=headers)
    assert taken.status_code == 204
    assert client.get("/api/v1/auth/me", headers=held).status_code == 401  # a narrower account signs in again
    assert client.delete(f"/api/v1/people/{coord}/roles/{given.json()['id']}", headers=headers).status_code == 404
    with db.transaction() as session:
        own = session.get(Person, session.scalar(select(Person.id).where(Person.username == "admin.county")))
        own_admin = own.roles[0].id
    mine = client.delete(f"/api/v1/people/{own.id}/roles/{own_admin}", headers=headers)
    assert mine.status_code == 409 and "管理员" in mine.json()["detail"]
    actions = _actions(db, coord)
    assert actions.count("role.assigned") == 3 and actions.count("role.removed") == 1


def test_lock_ends_sign_ins_until_unlocked(client, org, db):
    headers = login(client, "admin")
    coord = org.people["coord_county"].id
    held = login(client, "coord.county")
    locked = client.post(f"/api/v1/people/{coord}/lock", headers=headers)
    assert locked.status_code == 200 and locked.json()["ended_sign_ins"] == 1
    assert client.get("/api/v1/auth/me", headers=held).status_code == 401
    refused = client.post("/api/v1/auth/login", json={"username": "coord.county", "password": PASSWORD})
    assert refused.status_code == 423
    assert client.post(f"/api/v1/people/{coord}/lock", headers=headers).status_code == 409
    assert client.post(f"/api/v1/people/{org.people['admin'].id}/lock", headers=headers).status_code == 409
    assert client.post(f"/api/v1/people/{coord}/unlock", headers=headers).status_code == 204
    assert login(client, "coord.county")
    assert "auth.locked_by_admin" in _actions(db, coord)


def test_open_sign_ins_of_the_subtree_and_their_revocation(client, org, db):
    _county_admin(db, org)
    county_admin = login(client, "admin.county")
    held = login(client, "coord.county")
    login(client, "coord.county")
    other = login(client, "coord.county2")
    with db.transaction() as session:  # an expired and a revoked sign-in are not open
        coord = org.people["coord_county"].id
        session.add_all([SignIn(id="e" * 32, person_id=coord, via="api", client="x", created_at=now(),
                                expires_at=now() - timedelta(minutes=1), revoked_reason=""),
                         SignIn(id="r" * 32, person_id=coord, via="api", client="x", created_at=now(),
                                expires_at=now() + timedelta(hours=1), revoked_at=now(), revoked_reason="logout")])
    mine = client.get("/api/v1/sign-ins", headers=county_admin, params={"person_id": coord}).json()
    assert mine["total"] == 2 and {s["person_id"] for s in mine["items"]} == {coord}
    subtree = client.get("/api/v1/sign-ins", headers=county_admin).json()
    # county A's coordinator twice and the county administrator; county B's coordinator is not theirs
    assert subtree["total"] == 3 and org.people["coord_county2"].id not in {s["person_id"] for s in subtree["items"]}
    first = client.get("/api/v1/sign-ins", headers=county_admin, params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next"] == "1"
    township = client.get("/api/v1/sign-ins", headers=county_admin,
                          params={"node_id": org.nodes["township"].id}).json()
    assert township["total"] == 0
    everyone = client.get("/api/v1/sign-ins", headers=login(client, "admin")).json()
    assert everyone["total"] == 5  # + county B's coordinator and the province administrator

    held_jti = jwt.decode(held["Authorization"].split()[1], options={"verify_signature": False})["jti"]
    assert held_jti in {s["id"] for s in mine["items"]}
    assert client.post(f"/api/v1/sign-ins/{held_jti}/revoke", headers=county_admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=held).status_code == 401
    again = client.post(f"/api/v1/sign-ins/{held_jti}/revoke", headers=county_admin)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert client.post(f"/api/v1/sign-ins/{'e' * 32}/revoke", headers=county_admin).status_code == 409
    theirs = client.get("/api/v1/sign-ins", headers=login(client, "admin"),
                        params={"person_id": org.people["coord_county2"].id}).json()["items"][0]["id"]
    assert client.post(f"/api/v1/sign-ins/{theirs}/revoke", headers=county_admin).status_code == 403
    assert client.post("/api/v1/sign-ins/nosuch/revoke", headers=county_admin).status_code == 404
    assert client.get("/api/v1/auth/me", headers=other).status_code == 200
    assert "auth.sign_in_revoked" in _actions(db, coord)
    assert client.get("/api/v1/sign-ins", headers=county_admin, params={"node_id": 999999}).status_code == 404


@pytest.mark.parametrize("limit", [0, 501])
def test_sign_in_paging_bounds(client, org, limit):
    assert client.get("/api/v1/sign-ins", headers=login(client, "admin"), params={"limit": limit}).status_code == 422


def test_search_people_in_sql(db, org):
    from vreception.auth.access import principal_for
    from vreception.people import queries

    _county_admin(db, org)
    with db.transaction() as session:
        me = session.scalar(select(Person).where(Person.username == "admin.county"))
        principal = principal_for(me)
        everyone = queries.search_people(db=session, principal=principal)
        assert {p.username for p in everyone.items} == {"admin.county", "coord.county", "leader.county", "handler",
                                                       "room.township", "hearing"}
        assert [p.username for p in queries.search_people(db=session, principal=principal, text="coord").items] \
            == ["coord.county"]
        assert [p.username for p in queries.search_people(db=session, principal=principal, text="桃源%").items] == []
        townships = queries.search_people(db=session, principal=principal, node_id=org.nodes["township"].id)
        assert [p.username for p in townships.items] == ["room.township"]
        leaders = queries.search_people(db=session, principal=principal, role="leader")
        assert [p.username for p in leaders.items] == ["leader.county"]
        paged = queries.search_people(db=session, principal=principal, limit=2)
        assert len(paged.items) == 2 and paged.total == 6 and paged.next == "2"
        nodes = queries.managed_nodes(db=session, principal=principal)
        assert {n.code for n in nodes} == {"580102", "580102001", "580102-RSJ"}
