"""The recording's media route is documented as what it sends: video, whole (200) or a byte range (206), and 416
for a range outside the file (issue 10: OpenAPI called it JSON)."""

from __future__ import annotations


def test_recording_media_is_documented_as_video_with_ranges(app):
    answers = app.openapi()["paths"]["/api/v1/recordings/{recording_id}/media"]["get"]["responses"]
    for status in ("200", "206"):
        assert set(answers[status]["content"]) == {"video/webm", "video/x-matroska"}, answers[status]
        assert answers[status]["content"]["video/webm"]["schema"]["format"] == "binary"
    for status in ("403", "404", "409", "416"):
        assert set(answers[status]["content"]) == {"application/json"}
        assert "ErrorOut" in answers[status]["content"]["application/json"]["schema"]["$ref"]
    assert "range_invalid" in answers["416"]["description"]
