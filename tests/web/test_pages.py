"""The sign-in page and landing page over HTTP: language, CSRF, cookies, redirects, escaping."""

from __future__ import annotations

from tests.factories import PASSWORD, csrf_of


def test_signed_out_visitor_goes_to_login(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/login")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert "登录" in page.text and "用户名" in page.text
    english = client.get("/login?lang=en")
    assert "Sign in" in english.text and '<html lang="en">' in english.text
    assert "Content-Security-Policy" in page.headers


def test_form_sign_in_sets_cookie_and_shows_roles(client, org):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "coord.county", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "vr_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = client.get("/")
    assert "测试coord_county，您好" in home.text
    assert "信访工作人员" in home.text and "城东区" in home.text


def test_wrong_password_shows_error_and_keeps_username_escaped(client, org):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "<script>alert(1)</script>", "password": "x",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_form_without_csrf_token_is_refused(client, org):
    client.get("/login")
    response = client.post("/login", data={"username": "coord.county", "password": PASSWORD, "csrf_token": "x.y"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_logout_forgets_the_session(client, org):
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "coord.county", "password": PASSWORD, "csrf_token": token})
    home = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
