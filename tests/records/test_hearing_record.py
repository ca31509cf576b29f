"""The hearing record (听证笔录): recorder-only entries, kiosk signatures, staff confirmations and refusals, the
issued document with the agenda, the opinions and the hashes, and its integrity check."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from tests.records.hearing_helpers import end_hearing, held_hearing
from tests.records.helpers import MANIFEST_SHA256, png
from vreception import documents, records
from vreception.auth.access import principal_for
from vreception.errors import Conflict, Forbidden, Invalid
from vreception.models import AuditEvent, Document, Person
from vreception.models.records import RecordSignature
from vreception.models.scheduling import ReceptionSession
from vreception.records import access
from vreception.records.views import record_out


def _booking(s, held):
    return s.get(ReceptionSession, held.session)


def _principal(s, person_id):
    return principal_for(s.get(Person, person_id))


def test_only_the_recorder_and_the_chair_write_a_hearing_record(db, org):
    held = held_hearing(db, org)
    with db.transaction() as s:
        booking = _booking(s, held)
        for person in (held.recorder, held.chair):
            access.require_writer(_principal(s, person), booking, db=s)
        # The panel, the handler and the office's other coordinators do not write the 笔录 (they may on a reception).
        for person in (held.panel[0], held.handler, org.people["coord_province"].id, org.people["admin"].id):
            with pytest.raises(Forbidden):
                access.require_writer(_principal(s, person), booking, db=s)
        entry = records.add_entry(db=s, booking=booking, text="信访人陈述：单位拖欠工资。", actor_id=held.recorder)
        assert entry.recording_id == held.recording and 89 <= entry.offset_s <= 120


def test_signers_are_the_petitioner_side_and_confirmers_the_staff(db, org):
    held = held_hearing(db, org, withdrawn=True)
    with db.transaction() as s:
        booking = _booking(s, held)
        records.add_entry(db=s, booking=booking, text="记录", actor_id=held.recorder)
        view = record_out(booking, db=s)
    assert view.kind == "hearing_record"
    assert [(x.name, x.role) for x in view.signers] == [("张三", "petitioner"), ("赵律师", "agent")]
    # The withdrawn member (the last) does not confirm.
    assert [(c.person_id, c.role) for c in view.confirmations] == [
        (held.handler, "handler"), (held.panel[0], "hearing_member"), (held.panel[1], "hearing_member"),
        (held.recorder, "recorder"), (held.chair, "chair")]
    assert view.waiting_for[:2] == ["张三", "赵律师"] and len(view.waiting_for) == 7


def test_issued_only_when_everyone_signed_confirmed_or_refused(db, org):
    held = held_hearing(db, org)
    with db.transaction() as s:
        records.add_entry(db=s, booking=_booking(s, held), text="信访人陈述：要求补发工资。", actor_id=held.recorder)
        records.add_entry(db=s, booking=_booking(s, held), text="承办单位答复：已核实。", actor_id=held.chair)
        with pytest.raises(Conflict):  # the hearing still runs
            records.confirm(db=s, booking=_booking(s, held), person_id=held.chair)
    end_hearing(db, held)
    signature = png()
    with db.transaction() as s:
        booking = _booking(s, held)
        with pytest.raises(Forbidden):  # not a confirmer of this hearing
            records.confirm(db=s, booking=booking, person_id=org.people["coord_province"].id)
        with pytest.raises(Invalid):
            records.refuse_confirmation(db=s, booking=booking, person_id=held.handler, reason="  ")
        records.sign(db=s, booking=booking, participant_id=held.signers["张三"], png=signature, actor_id=None)
        records.refuse(db=s, booking=booking, participant_id=held.signers["赵律师"], reason="对第二段有异议", actor_id=None)
        records.refuse_confirmation(db=s, booking=booking, person_id=held.handler, reason="答复表述不完整")
        with pytest.raises(Conflict):
            records.confirm(db=s, booking=booking, person_id=held.handler)
        for person in (*held.panel[:2], held.recorder):
            records.confirm(db=s, booking=booking, person_id=person)
        record = records.record_of(booking, db=s)
        assert record.document_id is None
        assert records.missing(booking, record) == [f"hearing_member:{s.get(Person, held.panel[2]).name}",
                                                    f"chair:{s.get(Person, held.chair).name}"]
        records.confirm(db=s, booking=booking, person_id=held.panel[2])
        records.confirm(db=s, booking=booking, person_id=held.chair)
        assert record.document_id is not None
        document = s.get(Document, record.document_id)
        view = record_out(booking, db=s)
        issued = s.scalar(select(AuditEvent).where(AuditEvent.action == "record.issued"))
        refused = s.scalar(select(AuditEvent).where(AuditEvent.action == "record.confirmation_refused"))
    assert view.state == "issued" and view.waiting_for == []
    assert (document.kind, document.served_at) == ("hearing_record", document.issued_at)
    assert document.number.startswith("城东区信听录〔")
    data = json.loads(issued.data)
    assert data["sha256"] == document.sha256 and data["manifest_sha256"] == MANIFEST_SHA256
    assert json.loads(refused.data) == {"as": ["handler"], "reason": "答复表述不完整"}
    html = document.html
    for text in ("听证笔录", held.number, "不公开听证（涉及个人隐私）", "测试leader_county（副县长）", "测试coord_county",
                 "张三", "赵律师", "拒签", "对第二段有异议", "拒绝确认。理由：答复表述不完整", "桃源镇视频接访室",
                 "宣布开始、核对身份、询问回避", "录像 00:00:05", "合议（不公开）", "录像 00:01:01",
                 "信访人陈述：要求补发工资。", MANIFEST_SHA256, hashlib.sha256(signature).hexdigest(), "测试hearing2"):
        assert text in html, text
    assert documents.intact(document)


def test_opinions_appear_in_the_record(db, org):
    from vreception.hearings import opinions
    from vreception.models.hearings import Hearing

    held = held_hearing(db, org)
    with db.transaction() as s:
        records.add_entry(db=s, booking=_booking(s, held), text="记录", actor_id=held.recorder)
        opinions.record_opinion(db=s, hearing=s.get(Hearing, held.hearing), person_id=held.panel[0],
                                text="建议支持信访人的诉求。")
    end_hearing(db, held)
    with db.transaction() as s:
        booking = _booking(s, held)
        for name in ("张三", "赵律师"):
            records.sign(db=s, booking=booking, participant_id=held.signers[name], png=png(shade=len(name)), actor_id=None)
        for person in (held.handler, *held.panel, held.recorder, held.chair):
            records.confirm(db=s, booking=booking, person_id=person)
        document_id = records.record_of(booking, db=s).document_id
    with db.transaction() as s:
        html = s.get(Document, document_id).html
        assert "听证员意见" in html and "建议支持信访人的诉求。" in html and "未发表意见" in html
        assert documents.intact(s.get(Document, document_id))
        stored = s.scalars(select(RecordSignature).order_by(RecordSignature.id)).first()
        changed = bytearray(stored.png)
        changed[-20] ^= 0x01
        stored.png = bytes(changed)
    with db.transaction() as s:
        assert not documents.intact(s.get(Document, document_id))
