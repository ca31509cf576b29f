"""Text with a NUL character (U+0000) answers 4xx, never 500: PostgreSQL's driver refuses it (422 invalid with the
catalog message), SQLite stores it. Found by tests/web/test_schema_fuzz.py (a NUL username at sign-in was a 500)."""

from __future__ import annotations

from tests.factories import csrf_of, login, matter_body, page_client


def test_a_nul_username_at_sign_in_is_a_clear_error(client, org, db):
    response = client.post("/api/v1/auth/login", json={"username": "\x00", "password": "x"},
                           headers={"accept-language": "en"})
    if db.backend == "postgresql":
        assert response.status_code == 422, response.text
        assert response.json() == {"code": "invalid", "detail": "Text may not contain the NUL character (U+0000)."}
    else:
        assert response.status_code == 401, response.text


def test_a_nul_in_written_text_is_a_clear_error(client, org, db):
    headers = {**login(client, "coord.county"), "accept-language": "zh-CN"}
    response = client.post("/api/v1/matters", headers=headers, json=matter_body(org, summary="拖欠工资\x00"))
    if db.backend == "postgresql":
        assert response.status_code == 422, response.text
        assert response.json() == {"code": "invalid", "detail": "文本不能包含空字符（U+0000）。"}
    else:
        assert response.status_code == 201, response.text


def test_a_nul_in_a_form_answers_the_error_page(app, org, db):
    browser = page_client(app, None)
    response = browser.post("/login", data={"username": "\x00", "password": "x",
                                            "csrf_token": csrf_of(browser.get("/login").text)})
    assert response.status_code < 500, response.text
    if db.backend == "postgresql":
        assert response.status_code == 422
        assert "text/html" in response.headers["content-type"]
