"""The OpenAPI schema documents the errors: every signed-in route its 401 and 403, with the error body."""

from __future__ import annotations

UNSIGNED = ("/api/v1/public/", "/api/v1/auth/login", "/api/v1/calendars/leaders/{leader_id}.ics",
            "/api/v1/calendars/rooms/{room_id}.ics")


def test_every_signed_in_route_documents_401_and_403_with_the_error_body(app):
    spec = app.openapi()
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(UNSIGNED):
            continue
        for method, operation in operations.items():
            answers = operation.get("responses", {})
            for status in ("401", "403"):
                # Files (HTML, PDF, media) document the JSON error under their own media type.
                schemas = [c.get("schema", {}) for c in answers.get(status, {}).get("content", {}).values()]
                if not any("ErrorOut" in s.get("$ref", "") for s in schemas):
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing
    error = spec["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"detail", "code"}
