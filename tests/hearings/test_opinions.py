"""A panel member's opinion: after the deliberation began, by a sitting member only, editable until the 笔录 is
frozen; over HTTP too."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import login
from tests.records.hearing_helpers import end_hearing, held_hearing
from tests.records.helpers import png
from vreception import records
from vreception.errors import Conflict, Forbidden, Invalid
from vreception.hearings import opinions
from vreception.models import AuditEvent
from vreception.models.hearings import Hearing
from vreception.models.scheduling import ReceptionSession


def _give(db, held, person, text):
    with db.transaction() as s:
        return opinions.record_opinion(db=s, hearing=s.get(Hearing, held.hearing), person_id=person, text=text).opinion


def test_only_sitting_members_after_deliberation_until_frozen(db, org):
    early = held_hearing(db, org, deliberation=False, withdrawn=True)
    with pytest.raises(Conflict):  # the deliberation has not begun and the session runs
        _give(db, early, early.panel[0], "意见")
    for outsider in (early.panel[2], early.chair, early.handler):  # the withdrawn member, the chair, the handler
        with pytest.raises(Forbidden):
            _give(db, early, outsider, "意见")
    held = held_hearing(db, org, panel=early.panel[:3])
    with pytest.raises(Invalid):
        _give(db, held, held.panel[0], "   ")
    assert _give(db, held, held.panel[0], "支持") == "支持"
    assert _give(db, held, held.panel[0], "部分支持") == "部分支持"  # editable
    with db.transaction() as s:
        booking = s.get(ReceptionSession, held.session)
        records.add_entry(db=s, booking=booking, text="记录", actor_id=held.recorder)
        actions = [(e.action, json.loads(e.data)["changed"]) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "hearing", AuditEvent.entity_id == str(held.hearing))
            .order_by(AuditEvent.seq))]
    assert actions == [("hearing.opinion_recorded", False), ("hearing.opinion_recorded", True)]
    end_hearing(db, held)
    with db.transaction() as s:
        records.sign(db=s, booking=s.get(ReceptionSession, held.session), participant_id=held.signers["张三"], png=png(),
                     actor_id=None)
    with pytest.raises(Conflict):  # frozen at the first signature
        _give(db, held, held.panel[1], "不支持")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_opinion_and_confirmation_over_the_api(client, db, org):
    held = held_hearing(db, org)
    member, other = login(client, "hearing"), login(client, "hearing2")
    stranger = held_hearing(db, org, panel=held.panel[1:])  # a hearing without "hearing" on its panel
    given = client.post(f"/api/v1/hearings/{held.hearing}/opinion", headers=member, json={"text": "建议支持"})
    assert given.status_code == 200, given.text
    assert given.json()["opinion"] == "建议支持" and given.json()["matter_number"] == held.number
    assert client.post(f"/api/v1/hearings/{stranger.hearing}/opinion", headers=member,
                       json={"text": "x"}).status_code == 403
    assert client.post("/api/v1/hearings/999999/opinion", headers=member, json={"text": "x"}).status_code == 404
    recorder = login(client, "coord.county")
    assert client.post(f"/api/v1/sessions/{held.session}/record", headers=recorder,
                       json={"text": "记录员记录"}).status_code == 201
    assert client.post(f"/api/v1/sessions/{held.session}/record", headers=member,
                       json={"text": "听证员不能写"}).status_code == 403
    end_hearing(db, held)
    refused = client.post(f"/api/v1/sessions/{held.session}/record/confirm-refusals", headers=other,
                          json={"reason": "笔录遗漏了我的提问"})
    assert refused.status_code == 200, refused.text
    assert [c["state"] for c in refused.json()["confirmations"] if c["role"] == "hearing_member"] == [
        "waiting", "refused", "waiting"]
    confirmed = client.post(f"/api/v1/sessions/{held.session}/record/confirm", headers=member)
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "signing"
    late = client.post(f"/api/v1/hearings/{held.hearing}/opinion", headers=member, json={"text": "改"})
    assert (late.status_code, late.json()["code"]) == (409, "conflict")
    kiosk = login(client, "room.township")
    assert client.post(f"/api/v1/sessions/{held.session}/record/confirm-refusals", headers=kiosk,
                       json={"reason": "x"}).status_code == 403
