"""Ids past what the database holds answer 422 with the JSON error body, on both databases (they were 500s)."""

from __future__ import annotations

import pytest

from tests.conftest import login


@pytest.mark.parametrize("big", [2**31, 2**63, 2**70])
def test_out_of_range_ids_are_a_clear_error(client, org, big):
    headers = login(client, "coord.county")
    for path in (f"/api/v1/matters/{big}", f"/api/v1/tasks/{big}", f"/api/v1/sessions/{big}",
                 f"/api/v1/recordings/{big}", f"/api/v1/documents/{big}"):
        response = client.get(path, headers=headers)
        assert response.status_code in (404, 422), (path, response.status_code, response.text)
        assert response.json()["code"] in ("invalid", "not_found", "matter_not_found", "task_not_found",
                                           "session_not_found", "recording_not_found", "document_not_found")
