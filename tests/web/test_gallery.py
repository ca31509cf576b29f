"""The public gallery (旁听) of a hearing: a watch-only seat without sign-in, capped, with no personal data."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_matter, session_row
from vreception import audit, clock
from vreception.models import AuditEvent
from vreception.models.hearings import Hearing, HearingStage, HearingState
from vreception.models.scheduling import Participant, SessionKind
from web.pages import gallery as gallery_page

KEY = "k" * 40
NAMES = ("王主持", "李律师", "张三", "钱科长")


@pytest.fixture
def gallery_app(app):
    """The app with the gallery's routes (registered here until web/pages/__init__.py lists them)."""
    if not any(getattr(r, "path", "") == "/gallery/{key}" for r in app.routes):
        app.include_router(gallery_page.router)
    gallery_page.PER_CLIENT._seen.clear()
    gallery_page.PER_HEARING._seen.clear()
    return app


@pytest.fixture
def hearing(db, org, settings):
    """A public, noticed hearing of county A in a booked hearing session: chair, a panel member, the petitioner."""
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"], state="accepted")
    with db.transaction() as s:
        booked = session_row(s, org, starts_at=clock.now() + timedelta(minutes=20), matter_id=matter_id,
                             roles=("chair", "hearing_member", "petitioner", "handler"))
        booked.kind = SessionKind.hearing
        for seat, name in zip(booked.participants, NAMES, strict=True):
            seat.name = name
        row = Hearing(matter_id=matter_id, node_id=org.nodes["county"].id, stage=HearingStage.recheck,
                      state=HearingState.noticed, decision_due=date(2030, 1, 1), public=True, gallery_key=KEY,
                      session_id=booked.id)
        s.add(row)
        s.flush()
        return {"id": row.id, "session_id": booked.id, "matter_id": matter_id}


def _client(app):
    from fastapi.testclient import TestClient

    return TestClient(app, headers={"accept": "text/html"})


def _meta_csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _seat(client, key=KEY, seat=""):
    page = client.get(f"/gallery/{key}")
    token = _meta_csrf(page.text) if page.status_code == 200 else ""
    return client.post(f"/gallery/{key}/token", json={"seat": seat}, headers={"X-CSRF-Token": token})


def test_the_gallery_page_needs_no_sign_in_and_shows_no_personal_data(gallery_app, hearing, db):
    with _client(gallery_app) as client:
        page = client.get(f"/gallery/{KEY}")
    assert page.status_code == 200
    assert "听证旁听" in page.text
    for name in NAMES:
        assert name not in page.text
    with db.transaction() as s:
        # Looking at the page takes no seat.
        assert s.scalar(select(func.count(Participant.id)).where(Participant.role == "observer")) == 0


def test_a_viewer_gets_an_anonymous_observer_seat_and_keeps_it_on_reload(gallery_app, hearing, db):
    with _client(gallery_app) as client:
        first = _seat(client)
        assert first.status_code == 200, first.text
        body = first.json()
        assert f"/ws/sessions/{hearing['session_id']}?token=" in body["ws_url"]
        again = _seat(client, seat=body["seat"])
        assert again.status_code == 200 and again.json()["participant_id"] == body["participant_id"]
    with db.transaction() as s:
        seats = s.scalars(select(Participant).where(Participant.session_id == hearing["session_id"],
                                                    Participant.role == "observer")).all()
        assert [(p.name, p.person_id, p.room_id) for p in seats] == [("旁听1", None, None)]
        assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "hearing.gallery_seat")) == 1


def test_the_token_needs_the_pages_csrf_token(gallery_app, hearing):
    with _client(gallery_app) as client:
        client.get(f"/gallery/{KEY}")
        refused = client.post(f"/gallery/{KEY}/token", json={"seat": ""})
    assert refused.status_code == 403


def test_the_gallery_is_capped(gallery_app, hearing, settings, db):
    settings.gallery_max_viewers = 2
    with _client(gallery_app) as client:
        assert _seat(client).status_code == 200
        gallery_page.PER_CLIENT._seen.clear()
        assert _seat(client).status_code == 200
        gallery_page.PER_CLIENT._seen.clear()
        full = _seat(client)
    assert full.status_code == 429
    assert "旁听席已满（最多 2 人）" in full.text
    with db.transaction() as s:
        assert s.scalar(select(func.count(Participant.id)).where(Participant.role == "observer")) == 2


def test_seats_are_handed_out_slowly_to_one_client(gallery_app, hearing):
    with _client(gallery_app) as client:
        answers = [_seat(client).status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]


@pytest.mark.parametrize("change", ["closed", "unknown", "ended", "concluded"])
def test_a_closed_or_finished_hearing_or_an_unknown_key_is_not_found(gallery_app, hearing, db, change):
    from vreception.models.scheduling import ReceptionSession, SessionState

    key = KEY
    with db.transaction() as s:
        row = s.get(Hearing, hearing["id"])
        if change == "closed":
            row.public = False
        elif change == "unknown":
            key = "x" * 40
        elif change == "ended":
            s.get(ReceptionSession, hearing["session_id"]).state = SessionState.ended
        else:
            row.state = HearingState.concluded
    with _client(gallery_app) as client:
        assert client.get(f"/gallery/{key}").status_code == 404
        assert client.post(f"/gallery/{key}/token", json={"seat": ""},
                           headers={"X-CSRF-Token": _meta_csrf(client.get("/login").text)}).status_code == 404


def test_the_gallery_socket_sees_roles_not_names(gallery_app, hearing):
    with _client(gallery_app) as client:
        url = _seat(client).json()["ws_url"]
        path = url.split("://", 1)[1].split("/", 1)[1]
        with client.websocket_connect("/" + path) as ws:
            frames = [ws.receive_json() for _ in range(3)]
    kinds = [f["type"] for f in frames]
    assert kinds == ["welcome", "admitted", "state"]  # admitted without waiting
    assert frames[0]["role"] == "observer"
    state = frames[2]
    text = json.dumps(state, ensure_ascii=False)
    for name in NAMES:
        assert name not in text
    names = {p["role"]: p["name"] for p in state["participants"]}
    assert names["chair"] == "主持人" and names["petitioner"] == "信访人" and names["observer"] == "旁听"


def test_evidence_only_the_page_shown_now(gallery_app, hearing, db, settings):
    with db.transaction() as s:
        for action, data in (("call.evidence_shown", {"item": "doc:1", "page": 2, "pages": 3}),):
            audit.record(db=s, action=action, entity_type="session", entity_id=hearing["session_id"], data=data)
    with _client(gallery_app) as client:
        other_page = client.get(f"/gallery/{KEY}/evidence", params={"item": "doc:1", "page": 1})
        other_item = client.get(f"/gallery/{KEY}/evidence", params={"item": "doc:2", "page": 2})
        # Shown, but never prepared in this session: still nothing.
        shown_unprepared = client.get(f"/gallery/{KEY}/evidence", params={"item": "doc:1", "page": 2})
        with db.transaction() as s:
            audit.record(db=s, action="call.deliberation_changed", entity_type="session",
                         entity_id=hearing["session_id"], data={"active": True, "held": []})
        deliberating = client.get(f"/gallery/{KEY}/evidence", params={"item": "doc:1", "page": 2})
    assert other_page.status_code == other_item.status_code == 404
    assert shown_unprepared.status_code == 404 and deliberating.status_code == 404


def test_shown_now_follows_the_calls_audit(db, hearing):
    from vreception.hearings.gallery import shown_now

    sid = hearing["session_id"]
    with db.transaction() as s:
        assert shown_now(sid, db=s) is None
        audit.record(db=s, action="call.evidence_shown", entity_type="session", entity_id=sid,
                     data={"item": "doc:5", "page": 1, "pages": 2})
        audit.record(db=s, action="call.evidence_shown", entity_type="session", entity_id=sid,
                     data={"item": "doc:5", "page": 2, "pages": 2})
        assert shown_now(sid, db=s) == ("doc:5", 2)
        audit.record(db=s, action="call.deliberation_changed", entity_type="session", entity_id=sid,
                     data={"active": True})
        assert shown_now(sid, db=s) is None
        audit.record(db=s, action="call.deliberation_changed", entity_type="session", entity_id=sid,
                     data={"active": False})
        assert shown_now(sid, db=s) == ("doc:5", 2)
        audit.record(db=s, action="call.evidence_ended", entity_type="session", entity_id=sid, data={"item": "doc:5"})
        assert shown_now(sid, db=s) is None
