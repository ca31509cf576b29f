"""Only a hearing closed for a state secret may go unrecorded (every other session is evidence)."""

from __future__ import annotations

from sqlalchemy import select

from tests.hearings.helpers import booking, decided
from vreception.models.recordings import Recording


def test_only_a_hearing_closed_for_a_state_secret_may_be_booked_unrecorded(client, org, db):
    h = decided(client, org, db)
    privacy = client.put(f"/api/v1/hearings/{h.id}/publicity", headers=h.headers,
                         json={"public": False, "closed_reason": "privacy"})
    assert privacy.status_code == 200, privacy.text
    refused = client.post(f"/api/v1/hearings/{h.id}/booking", headers=h.headers, json=booking(org, record=False))
    assert refused.status_code == 422 and refused.json()["field"] == "record"
    secret = client.put(f"/api/v1/hearings/{h.id}/publicity", headers=h.headers,
                        json={"public": False, "closed_reason": "state_secret"})
    assert secret.status_code == 200, secret.text
    booked = client.post(f"/api/v1/hearings/{h.id}/booking", headers=h.headers, json=booking(org, record=False))
    assert booked.status_code == 201, booked.text
    session = client.get(f"/api/v1/sessions/{booked.json()['session_id']}", headers=h.headers).json()
    assert session["recorded"] is False and booked.json()["gallery_key"] is None
    with db.transaction() as s:
        assert s.scalars(select(Recording)).all() == []
