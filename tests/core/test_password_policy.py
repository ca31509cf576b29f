"""The password policy: one rule set for every place that sets a password, a clear message for each refusal."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, csrf_of, login, page_client
from vreception.auth import password_policy
from vreception.auth.password_policy import WeakPassword
from vreception.i18n import translate


@pytest.mark.parametrize("password, username, reason", [
    ("Abc-12345", None, "too_short"),
    ("x" * 257, None, "too_long"),
    ("My-wang.wei-2026", "wang.wei", "contains_username"),
    ("My-WANGWEI-pass9", "wang.wei", "contains_username"),
    ("password123", None, "common"),
    ("Qwerty@123", None, "common"),
    ("WOAINI1314520", None, None),  # long and not on the list
    ("woaini5201314", None, "common"),
    ("1234567890", None, "common"),
    ("Aa123456789", None, "common"),
    ("桃源镇-接访室-2026", "room.taoyuan", None),
    (PASSWORD, "coord.county", None),
])
def test_each_rule(password, username, reason):
    assert password_policy.weakness(password, username=username) == reason
    if reason is None:
        assert password_policy.check(password, username=username) == password
    else:
        with pytest.raises(WeakPassword) as refused:
            password_policy.check(password, username=username, field="new_password")
        assert refused.value.code == "weak_password" and refused.value.reason == reason
        assert refused.value.field == "new_password" and refused.value.status == 422


def test_every_reason_has_a_chinese_and_an_english_message():
    assert set(password_policy.MESSAGES) == {"too_short", "too_long", "contains_username", "common"}
    for key in password_policy.MESSAGES.values():
        zh = translate(key, "zh-CN", min=10, max=256)
        en = translate(key, "en", min=10, max=256)
        assert zh != key and any("\u4e00" <= c <= "\u9fff" for c in zh)
        assert en != zh
    assert "10" in translate(password_policy.MESSAGES["too_short"], "zh-CN", min=10)


def test_the_shipped_list_holds_the_classics():
    common = password_policy.common_passwords()
    assert len(common) >= 1000
    assert {"123456", "password", "qwerty", "12345678", "111111", "abc123", "aa123456", "woaini1314"} <= common
    assert all(line == line.strip().lower() and line for line in common)


def test_change_password_through_the_api_and_the_page_uses_the_policy(client, org):
    headers = login(client, "coord.county")
    common = client.post("/api/v1/auth/password", headers=headers,
                         json={"current_password": PASSWORD, "new_password": "password1234"})
    assert common.status_code == 422 and common.json()["code"] == "weak_password"
    assert common.json()["field"] == "new_password" and "常见" in common.json()["detail"]
    named = client.post("/api/v1/auth/password", headers=headers,
                        json={"current_password": PASSWORD, "new_password": "Coord.County-99"})
    assert named.json()["code"] == "weak_password" and "用户名" in named.json()["detail"]
    browser = page_client(client.app, "coord.county")
    token = csrf_of(browser.get("/account/password").text)
    short = browser.post("/account/password", data={"current_password": PASSWORD, "new_password": "Short-1",
                                                    "confirm_password": "Short-1", "csrf_token": token})
    assert short.status_code == 422 and "至少需要10个字符" in short.text


def test_creating_an_account_uses_the_policy(client, org):
    headers = login(client, "admin")
    answer = client.post("/api/v1/people", headers=headers, json={
        "name": "新人", "node_id": org.nodes["township"].id, "username": "new.person", "password": "qwerty123456"})
    assert answer.status_code == 422 and answer.json()["code"] == "weak_password"
    assert answer.json()["field"] == "password"


def test_the_cli_refuses_a_weak_password(tmp_path):
    from tests.core.test_cli import run
    from vreception import audit, org
    from vreception.db import Database

    run(["db", "upgrade"], tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret("audit-test-" + "k9X2" * 10))
    with db.transaction() as session:
        org.create_node(db=session, code="580000", name="青岚省", level="province")
    db.dispose()
    weak = run(["users", "add", "--username", "ops", "--password", "password1234", "--role", "admin",
                "--node", "580000"], tmp_path, check=False)
    assert weak.returncode == 2 and "weak_password" in weak.stderr and "常见" in weak.stderr
