"""A call opens only its lead time before the session: earlier, its page says when and changes nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.factories import SH, build_scene, csrf_of, login, page_client
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.scheduling import Participant, ReceptionSession, SessionEvent, SessionState

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # a time rule, not SQL
OPENS = datetime(2026, 3, 4, 8, 30, tzinfo=SH)  # the scene's session starts Wednesday 09:00


@pytest.fixture
def scene(app, org, settings, db):
    return build_scene(db, org, settings)


def _footprint(db, session_id: int) -> tuple:
    """What opening a call could change: the state, the seats, the history, the join-token audit."""
    with db.transaction() as session:
        item = session.get(ReceptionSession, session_id)
        return (
            item.state,
            session.scalar(select(func.count()).where(Participant.session_id == session_id)),
            session.scalar(select(func.count()).where(SessionEvent.session_id == session_id)),
            session.scalar(select(func.count()).where(AuditEvent.action == "session.join_token")),
        )


def _token(client, session_id: int):
    page = client.get("/lookup")
    return client.post(f"/calls/{session_id}/token", headers={"x-csrf-token": csrf_of(page.text)})


def test_days_early_the_call_page_says_when_it_opens_and_changes_nothing(app, db, scene):
    before = _footprint(db, scene.session)
    leader = page_client(app, "leader.county")
    page = leader.get(f"/calls/{scene.session}")
    assert page.status_code == 200
    assert "data-call-not-open" in page.text and "2026-03-04 08:30" in page.text and "30分钟" in page.text
    assert 'id="call-config"' not in page.text and "call-page.js" not in page.text
    assert f'href="/sessions/{scene.session}"' in page.text
    refused = _token(leader, scene.session)
    assert refused.status_code == 409 and "2026-03-04 08:30开放进入" in refused.text
    # A coordinator's page neither makes a seat nor opens the session; the kiosk goes back to its start screen.
    coordinator = page_client(app, "coord.county")
    assert "data-call-not-open" in coordinator.get(f"/calls/{scene.session}").text
    assert _token(coordinator, scene.session).status_code == 409
    kiosk = page_client(app, "room.township").get(f"/calls/{scene.session}")
    assert "data-call-not-open" in kiosk.text and 'href="/kiosk"' in kiosk.text
    assert _footprint(db, scene.session) == before
    assert before[0] is SessionState.booked
    # The session can still be moved and cancelled.
    session_page = coordinator.get(f"/sessions/{scene.session}")
    assert f'action="/sessions/{scene.session}/reschedule"' in session_page.text
    assert f'action="/sessions/{scene.session}/cancel"' in session_page.text


def test_the_api_join_is_refused_with_a_code_until_the_lead_time(app, client, org, scene):
    url = f"/api/v1/sessions/{scene.session}/join"
    leader = login(client, "leader.county")
    early = client.post(url, headers=leader, json={})
    assert early.status_code == 409 and early.json()["code"] == "session_not_open_yet"
    assert "2026-03-04 08:30" in early.json()["detail"]
    clock.travel_to(datetime(2026, 3, 4, 8, 29, tzinfo=SH))
    assert client.post(url, headers=login(client, "leader.county"), json={}).status_code == 409
    clock.travel_to(OPENS)
    assert client.post(url, headers=login(client, "leader.county"), json={}).status_code == 200
    assert client.post(url, headers=login(client, "room.township"), json={}).status_code == 200


def test_at_the_lead_time_the_page_is_the_call(app, scene):
    clock.travel_to(OPENS)
    leader = page_client(app, "leader.county")
    page = leader.get(f"/calls/{scene.session}")
    assert 'id="call-config"' in page.text and "data-call-not-open" not in page.text
    assert _token(leader, scene.session).status_code == 200


def test_the_lead_time_is_a_setting(org, db, settings):
    from vreception.app import create_app

    app = create_app(settings.model_copy(update={"call_open_lead_minutes": 120}), db)
    scene = build_scene(db, org, settings)
    clock.travel_to(datetime(2026, 3, 4, 6, 59, tzinfo=SH))
    leader = page_client(app, "leader.county")
    early = leader.get(f"/calls/{scene.session}")
    assert "data-call-not-open" in early.text and "2026-03-04 07:00" in early.text and "120分钟" in early.text
    clock.travel_to(datetime(2026, 3, 4, 7, 0, tzinfo=SH))
    assert 'id="call-config"' in leader.get(f"/calls/{scene.session}").text
