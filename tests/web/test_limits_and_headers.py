"""Bodies are bounded before sign-in and parsing; every response carries the site's security headers."""

from __future__ import annotations

from tests.conftest import login
from web.limits import MAX_TEXT_BODY


def test_an_oversized_json_body_is_refused_before_sign_in(client):
    big = b'{"username": "' + b"x" * (MAX_TEXT_BODY + 10) + b'"}'
    refused = client.post("/api/v1/auth/login", content=big, headers={"content-type": "application/json"})
    assert refused.status_code == 413 and refused.json()["code"] == "too_large"
    # No token needed to be refused: the body never reached the bearer check either.
    anonymous = client.post("/api/v1/matters", content=big, headers={"content-type": "application/json"})
    assert anonymous.status_code == 413


def test_a_body_without_length_is_cut_off_while_it_arrives(client):
    def chunks():
        for _ in range(MAX_TEXT_BODY // 65536 + 2):
            yield b"a=" + b"x" * 65536

    refused = client.post("/lookup", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 413


def test_an_upload_within_the_limit_still_goes_through(client, org, settings):
    headers = login(client, "coord.county")
    # A multipart body of a few MiB is not refused by the text limit (the route then answers as it will).
    files = {"file": ("a.pdf", b"%PDF-1.4\n" + b"0" * (2 * MAX_TEXT_BODY), "application/pdf")}
    answered = client.post("/api/v1/tasks/999999/attachments", headers=headers, files=files)
    assert answered.status_code == 404


def test_pages_and_the_api_carry_the_security_headers(client):
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self';" in csp and "ws:" not in csp
    assert "base-uri 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    for response in (page, client.get("/healthz"), client.get("/api/v1/matters")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
