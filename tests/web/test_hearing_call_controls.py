"""The chair's hearing controls on the call page: 回避 at the opening, the panel's opinions, no step past the opening
with a short panel."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import add_person, make_matter, page_client, session_row
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.hearings import AgendaEntry, Hearing, HearingStage, HearingState, PanelMember
from vreception.models.scheduling import Participant, SessionKind

MEMBERS = ("hearing", "member_two", "member_three")


@pytest.fixture
def scene(db, org):
    """A hearing in session: leader_county chairs, coord_county records, three members sit; the township's room."""
    with db.transaction() as s:
        for key in MEMBERS[1:]:
            add_person(s, org, key, "hearing_member", "county")
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"], state="accepted")
    p = org.people
    with db.transaction() as s:
        booked = session_row(s, org, starts_at=clock.now(), matter_id=matter_id, room="township")
        booked.kind = SessionKind.hearing
        booked.participants.append(Participant(role="chair", person_id=p["leader_county"].id, name="主持人"))
        hearing = Hearing(matter_id=matter_id, node_id=org.nodes["county"].id, stage=HearingStage.handling,
                          state=HearingState.in_session, decision_due=date(2030, 1, 1), session_id=booked.id,
                          chair_id=p["leader_county"].id, recorder_id=p["coord_county"].id)
        hearing.panel += [PanelMember(person_id=p[key].id) for key in MEMBERS]
        s.add(hearing)
        s.flush()
        return {"session": booked.id, "hearing": hearing.id, "member": p["hearing"].id}


def _meta_csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _signed_in(app, username: str, session_id: int | None = None):
    client = page_client(app, username)
    page = client.get(f"/calls/{session_id}" if session_id else "/lookup")
    return client, _meta_csrf(page.text), page


def test_the_chair_records_and_decides_a_recusal_from_the_call(app, scene, db, org):
    chair, token, page = _signed_in(app, "leader.county", scene["session"])
    assert page.status_code == 200
    config = json.loads(re.search(r'id="call-config">(.*?)</script>', page.text, re.S).group(1))
    assert config["chairDesk"] == {"hearingId": scene["hearing"], "recusals": True, "opinions": True, "short": None}
    url = f"/hearings/{scene['hearing']}/call/recusals"
    asked = chair.post(url, json={"against_id": scene["member"], "requested_by": "信访人张三", "reason": "是对方亲属"},
                       headers={"x-csrf-token": token})
    assert asked.status_code == 201, asked.text
    [pending] = asked.json()["recusals"]
    assert pending["granted"] is None and pending["decides"] and pending["requested_by"] == "信访人张三"
    assert asked.json()["short"] is None
    decided = chair.post(f"{url}/{pending['id']}/decision", json={"granted": True, "reason": "确有利害关系"},
                         headers={"x-csrf-token": token})
    assert decided.status_code == 200, decided.text
    [done] = decided.json()["recusals"]
    assert done["granted"] is True and done["decision_reason"] == "确有利害关系" and not done["decides"]
    # Two members left: the panel is short, and the page says why.
    assert "3、5" in decided.json()["short"]
    assert scene["member"] not in [p["id"] for p in decided.json()["challenged"]]
    with db.transaction() as s:
        member = s.scalars(select(PanelMember).where(PanelMember.person_id == scene["member"])).one()
        assert member.withdrawn
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "hearing"))]
    assert any(a.endswith("recusal_requested") for a in actions) and any(a.endswith("recusal_decided") for a in actions)
    again = chair.get(f"/calls/{scene['session']}")
    assert "听证人员不齐" in again.text and "3、5" in again.text


def test_a_panel_member_neither_records_nor_decides_a_recusal(app, scene, db):
    member, token, _ = _signed_in(app, "hearing")
    url = f"/hearings/{scene['hearing']}/call/recusals"
    body = {"against_id": scene["member"], "requested_by": "张三", "reason": "利害关系"}
    assert member.post(url, json=body, headers={"x-csrf-token": token}).status_code == 403
    assert member.get(url).status_code == 403
    chair, chair_token, _ = _signed_in(app, "leader.county")
    recusal = chair.post(url, json=body, headers={"x-csrf-token": chair_token}).json()["recusals"][0]["id"]
    refused = member.post(f"{url}/{recusal}/decision", json={"granted": True, "reason": "是"},
                          headers={"x-csrf-token": token})
    assert refused.status_code == 403
    no_csrf = chair.post(f"{url}/{recusal}/decision", json={"granted": False, "reason": "不属实"})
    assert no_csrf.status_code == 403
    with db.transaction() as s:
        assert not s.scalars(select(PanelMember).where(PanelMember.person_id == scene["member"])).one().withdrawn


def test_opinions_are_listed_for_the_chair_and_recorder_not_the_room(app, scene, db, org):
    with db.transaction() as s:
        member = s.scalars(select(PanelMember).where(PanelMember.person_id == scene["member"])).one()
        member.opinion, member.opinion_at = "建议维持原处理意见", clock.now()
    url = f"/hearings/{scene['hearing']}/call/opinions"
    for username in ("leader.county", "coord.county"):
        listed = page_client(app, username).get(url)
        assert listed.status_code == 200, listed.text
        opinions = {o["person_id"]: o for o in listed.json()["opinions"]}
        assert len(opinions) == 3
        assert opinions[scene["member"]]["opinion"] == "建议维持原处理意见"
        assert opinions[org.people["member_two"].id]["at"] is None
    kiosk = page_client(app, "room.township")
    assert kiosk.get(f"/calls/{scene['session']}").status_code == 200
    assert kiosk.get(url).status_code == 403
    assert page_client(app, "hearing").get(url).status_code == 403


def _stored(db, read, seconds: float = 10.0):
    """What READ (given a session) finds once it finds something, or after SECONDS: a step's state frame goes out
    before its event is stored on a worker thread. Call it with the socket open: closing it ends the test client's
    event loop, and with it a store still under way."""
    deadline = time.monotonic() + seconds
    while True:
        with db.transaction() as s:
            found = read(s)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _until(ws, wanted):
    for _ in range(20):
        frame = ws.receive_json()
        if wanted(frame):
            return frame
    raise AssertionError("no such frame")


def test_the_agenda_does_not_go_past_the_opening_with_a_short_panel(app, scene, db):
    with db.transaction() as s:
        s.scalars(select(PanelMember).where(PanelMember.person_id == scene["member"])).one().withdrawn = True
    chair, token, page = _signed_in(app, "leader.county", scene["session"])
    assert "听证人员不齐" in page.text
    url = chair.post(f"/calls/{scene['session']}/token", headers={"x-csrf-token": token}).json()["ws_url"]
    with chair.websocket_connect("/" + url.split("://", 1)[1].split("/", 1)[1]) as ws:
        _until(ws, lambda f: f["type"] == "state")
        ws.send_json({"type": "agenda", "step": "petitioner_states"})
        refused = _until(ws, lambda f: f["type"] in ("error", "state"))
        assert refused["type"] == "error" and refused["code"] == "panel_incomplete"
        assert "3、5" in refused["detail"]
        ws.send_json({"type": "agenda", "step": "opening"})
        moved = _until(ws, lambda f: f["type"] in ("error", "state"))
        assert moved["type"] == "state" and moved["agenda_step"] == "opening"
        steps = _stored(db, lambda s: [e.step.value for e in s.scalars(
            select(AgendaEntry).where(AgendaEntry.hearing_id == scene["hearing"]))])
    assert steps == ["opening"]


def test_a_complete_panel_goes_past_the_opening(app, scene, db):
    chair, token, _ = _signed_in(app, "leader.county", scene["session"])
    url = chair.post(f"/calls/{scene['session']}/token", headers={"x-csrf-token": token}).json()["ws_url"]
    with chair.websocket_connect("/" + url.split("://", 1)[1].split("/", 1)[1]) as ws:
        _until(ws, lambda f: f["type"] == "state")
        ws.send_json({"type": "agenda", "step": "petitioner_states"})
        moved = _until(ws, lambda f: f["type"] in ("error", "state"))
        assert moved["type"] == "state" and moved["agenda_step"] == "petitioner_states"
        stored = _stored(db, lambda s: s.get(Hearing, scene["hearing"]).agenda_step)
    assert stored is not None and stored.value == "petitioner_states"


def test_the_step_check_is_only_for_going_past_the_opening():
    from vreception.hearings import agenda
    from vreception.models.hearings import AgendaStep

    short = Hearing(chair_id=1, recorder_id=2, panel=[PanelMember(person_id=3, withdrawn=False)])
    assert agenda.may_move(short, AgendaStep.opening, [3, 5]) is None
    assert agenda.may_move(short, AgendaStep.deliberation, [3, 5]).message_key == "error.panel_size"
    assert agenda.short_of(short, [1, 3]) is None
