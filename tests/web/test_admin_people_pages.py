"""The people and accounts pages of administrators: list, new account, edit, roles, reset, lock, retire, sign-ins."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, csrf_of, page_client
from vreception import people
from vreception.models import AuditEvent, Person

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _token(browser) -> str:
    return csrf_of(browser.get("/lookup").text)


def _temporary(html: str) -> str:
    return re.search(r"data-temporary-password>([^<]+)<", html).group(1)


def _person_id(db, username: str) -> int:
    with db.transaction() as session:
        return session.scalar(select(Person.id).where(Person.username == username))


def test_list_search_and_filter(client, org):
    browser = page_client(client.app, "admin")
    listed = browser.get("/admin/people")
    assert listed.status_code == 200 and "人员账号" in listed.text and "coord.county" in listed.text
    found = browser.get("/admin/people", params={"q": "leader"})
    assert "leader.county" in found.text and "coord.county" not in found.text
    township = browser.get("/admin/people", params={"node_id": org.nodes["township"].id})
    assert "room.township" in township.text and "leader.county" not in township.text
    leaders = browser.get("/admin/people", params={"role": "leader", "node_id": ""})
    assert "leader.city" in leaders.text and "coord.county" not in leaders.text
    paged = browser.get("/admin/people", params={"cursor": "0"})
    assert 'data-total="9"' in paged.text
    coordinator = page_client(client.app, "coord.province")
    assert coordinator.get("/admin/people").status_code == 403
    assert coordinator.get("/admin/sign-ins").status_code == 403


def test_new_account_shows_its_temporary_password_once(client, org, db):
    browser = page_client(client.app, "admin")
    assert "新建账号" in browser.get("/admin/people/new").text
    form = {"name": "柳主任", "title": "主任", "username": "liu.zhuren", "node_id": org.nodes["township"].id,
            "role": "coordinator", "scope_node_id": "", "room_id": ""}
    assert browser.post("/admin/people/new", data=form).status_code == 403  # no CSRF token
    made = browser.post("/admin/people/new", data={**form, "csrf_token": _token(browser)}, follow_redirects=False)
    assert made.status_code == 303
    person_id = _person_id(db, "liu.zhuren")
    assert made.headers["location"] == f"/admin/people/{person_id}"
    shown = browser.get(made.headers["location"])
    temporary = _temporary(shown.text)
    assert "只显示这一次" in shown.text and shown.headers["cache-control"] == "no-store"
    assert "data-temporary" not in browser.get(made.headers["location"]).text  # once
    with db.transaction() as session:
        person = session.get(Person, person_id)
        assert person.must_change_password and person.role_names == ["coordinator"]
    # The new coordinator signs in and is led to change the temporary password first.
    fresh = page_client(client.app, None)
    signed = fresh.post("/login", data={"username": "liu.zhuren", "password": temporary,
                                        "csrf_token": csrf_of(fresh.get("/login").text)}, follow_redirects=False)
    assert signed.headers["location"] == "/account/password"
    assert fresh.get("/dashboard", follow_redirects=False).headers["location"] == "/account/password"
    token = csrf_of(fresh.get("/account/password").text)
    done = fresh.post("/account/password", data={"current_password": temporary, "new_password": "Willow-2026-pw",
                                                 "confirm_password": "Willow-2026-pw", "csrf_token": token})
    assert done.status_code == 200
    assert fresh.get("/dashboard", follow_redirects=False).status_code == 200


def test_new_account_errors_are_chinese_and_keep_the_form(client, org):
    browser = page_client(client.app, "admin")
    form = {"name": "重名", "username": "coord.county", "node_id": org.nodes["county"].id, "role": "",
            "csrf_token": _token(browser)}
    taken = browser.post("/admin/people/new", data=form)
    assert taken.status_code == 409 and 'role="alert"' in taken.text and "重名" in taken.text
    bad = browser.post("/admin/people/new", data={**form, "username": "X"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text


def test_edit_roles_reset_lock_retire_and_sign_ins(client, org, db):
    browser = page_client(client.app, "admin")
    coord = org.people["coord_county"].id
    victim = page_client(client.app, "coord.county")
    page = browser.get(f"/admin/people/{coord}")
    assert page.status_code == 200 and "在线登录" in page.text and page.text.count("data-sign-in=") == 1
    token = _token(browser)
    edited = browser.post(f"/admin/people/{coord}", data={"name": "王科长", "title": "科长",
                                                          "node_id": org.nodes["county"].id, "csrf_token": token},
                          follow_redirects=False)
    assert edited.status_code == 303 and "王科长" in browser.get(f"/admin/people/{coord}").text
    empty = browser.post(f"/admin/people/{coord}", data={"name": " ", "node_id": org.nodes["county"].id,
                                                         "csrf_token": token})
    assert empty.status_code == 422 and 'role="alert"' in empty.text and "王科长" in empty.text

    role = browser.post(f"/admin/people/{coord}/roles", data={"role": "leader", "scope_node_id":
                                                              org.nodes["township"].id, "csrf_token": token},
                        follow_redirects=False)
    assert role.status_code == 303
    with db.transaction() as session:
        added = [a.id for a in session.get(Person, coord).roles if a.role.value == "leader"][0]
    assert victim.get("/dashboard", follow_redirects=False).status_code == 200  # adding a role ends nothing
    removed = browser.post(f"/admin/people/{coord}/roles/{added}/remove", data={"csrf_token": token},
                           follow_redirects=False)
    assert removed.status_code == 303
    assert victim.get("/dashboard", follow_redirects=False).headers["location"] == "/login"

    reset = browser.post(f"/admin/people/{coord}/password-reset", data={"csrf_token": token}, follow_redirects=False)
    assert reset.status_code == 303
    assert _temporary(browser.get(f"/admin/people/{coord}").text)
    locked = browser.post(f"/admin/people/{coord}/lock", data={"csrf_token": token}, follow_redirects=False)
    assert locked.status_code == 303 and "已锁定" in browser.get(f"/admin/people/{coord}").text
    twice = browser.post(f"/admin/people/{coord}/lock", data={"csrf_token": token})
    assert twice.status_code == 409 and "已经锁定" in twice.text
    assert browser.post(f"/admin/people/{coord}/unlock", data={"csrf_token": token},
                        follow_redirects=False).status_code == 303
    retired = browser.post(f"/admin/people/{coord}/deactivate", data={"csrf_token": token}, follow_redirects=False)
    assert retired.status_code == 303 and "已停用" in browser.get(f"/admin/people/{coord}").text
    assert browser.post(f"/admin/people/{coord}/reactivate", data={"csrf_token": token},
                        follow_redirects=False).status_code == 303
    own = browser.post(f"/admin/people/{org.people['admin'].id}/deactivate", data={"csrf_token": token})
    assert own.status_code == 409
    with db.transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(coord))))
    assert {"person.edited", "role.assigned", "role.removed", "auth.password_reset", "auth.locked_by_admin",
            "auth.unlocked", "person.deactivated", "person.reactivated"} <= actions


def test_sign_ins_page_and_revoke(client, org):
    browser = page_client(client.app, "admin")
    leader = page_client(client.app, "leader.county")
    listed = browser.get("/admin/sign-ins")
    assert listed.status_code == 200 and "leader.county" not in listed.text  # names are shown, not usernames
    assert "测试leader_county" in listed.text
    leader_id = org.people["leader_county"].id
    sign_in = re.search(rf'data-sign-in="(\w+)"><td><a href="/admin/people/{leader_id}"', listed.text).group(1)
    county = browser.get("/admin/sign-ins", params={"node_id": org.nodes["township"].id})
    assert "测试leader_county" not in county.text
    token = _token(browser)
    revoked = browser.post(f"/admin/sign-ins/{sign_in}/revoke", data={"csrf_token": token, "back": "list"},
                           follow_redirects=False)
    assert revoked.status_code == 303 and revoked.headers["location"] == "/admin/sign-ins"
    assert leader.get("/agenda", follow_redirects=False).headers["location"] == "/login"
    again = browser.post(f"/admin/sign-ins/{sign_in}/revoke", data={"csrf_token": token})
    assert again.status_code == 409 and "已经结束" in again.text
    assert browser.post("/admin/sign-ins/nosuch/revoke", data={"csrf_token": token}).status_code == 404


def test_a_county_admin_sees_only_the_county(client, org, db):
    with db.transaction() as session:
        person = people.create_person(db=session, name="区管理员", node_id=org.nodes["county"].id,
                                      username="admin.county", password=PASSWORD)
        people.assign_role(db=session, person=person, role="admin", node_id=org.nodes["county"].id)
    browser = page_client(client.app, "admin.county")
    listed = browser.get("/admin/people")
    assert "coord.county" in listed.text and "coord.province" not in listed.text
    assert browser.get(f"/admin/people/{org.people['coord_province'].id}").status_code == 403
    assert browser.get("/admin/people/999999").status_code == 404
    new = browser.get("/admin/people/new").text
    assert "城东区" in new and "城西区" not in new
