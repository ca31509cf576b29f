"""The reception record (接谈记录): entries with recording offsets, kiosk signatures, refusals, confirmation, issue."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.records.helpers import MANIFEST_SHA256, end_call, ended_call, png
from vreception import clock, documents, records
from vreception.errors import Conflict, Forbidden, Invalid
from vreception.models import AuditEvent, Document
from vreception.models.records import ReceptionRecord, RecordEntry, RecordSignature
from vreception.models.scheduling import ReceptionSession
from vreception.records.errors import TooLarge


def _booking(s, call):
    return s.get(ReceptionSession, call.session)


def _counts(db) -> tuple[int, int, int, int, int]:
    with db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(RecordEntry)),
                s.scalar(select(func.count()).select_from(RecordSignature)),
                s.scalar(select(func.count()).select_from(Document)),
                s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).where(ReceptionRecord.frozen_at.isnot(None))))


def _written(db, call, *texts):
    with db.transaction() as s:
        for text in texts:
            records.add_entry(db=s, booking=_booking(s, call), text=text, actor_id=call.leader)


def test_entries_carry_their_offset_into_the_recording(db, org):
    call = ended_call(db, org)
    _written(db, call, "信访人陈述：村里拖欠三个月工资。", "领导答复：责成人社局十日内核实。")
    with db.transaction() as s:
        record = records.record_of(_booking(s, call), db=s)
        assert [e.text[:3] for e in record.entries] == ["信访人", "领导答"]
        assert all(e.recording_id == call.recording and 89 <= e.offset_s <= 120 for e in record.entries)
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "reception_record")
                                 .order_by(AuditEvent.seq)))
    assert actions == ["record.started", "record.entry_added", "record.entry_added"]


def test_signed_refused_confirmed_then_issued_served_and_intact(db, org):
    call = ended_call(db, org)
    _written(db, call, "信访人陈述：村里拖欠三个月工资，请求督促支付。")
    end_call(db, call)
    signature = png()
    with db.transaction() as s:
        booking = _booking(s, call)
        records.sign(db=s, booking=booking, participant_id=call.signers["张三"], png=signature, actor_id=None)
        records.sign(db=s, booking=booking, participant_id=call.signers["李四"], png=png(shade=9), actor_id=None)
        records.refuse(db=s, booking=booking, participant_id=call.signers["王五"], reason="对记录第二段有异议", actor_id=None)
        with pytest.raises(Conflict):  # frozen once signing began
            records.add_entry(db=s, booking=booking, text="补充", actor_id=call.leader)
        records.confirm(db=s, booking=booking, person_id=call.leader)
        record = records.record_of(booking, db=s)
        assert record.document_id is None and records.missing(booking, record) == ["recorder"]
        records.confirm(db=s, booking=booking, person_id=call.recorder)
        assert record.document_id is not None
        document = s.get(Document, record.document_id)
        stored = next(x for x in record.signatures if x.name == "张三")
        assert stored.sha256 == hashlib.sha256(signature).hexdigest() and stored.png == signature
        assert (document.kind, document.served_at) == ("reception_record", document.issued_at)
        assert document.number.startswith("城东区信接谈〔")
        html = document.html
        present = re.search(r"在场人员</th>\s*<td>(.*?)</td>", html).group(1)
        assert present == "张三（信访人）、李四（代表）、王五（代表）、测试coord_county（记录人）"
        for text in ("记录人", "测试coord_county", "测试leader_county（副县长）", "张三", "李四", "王五", "拒签",
                     "对记录第二段有异议", MANIFEST_SHA256, stored.sha256, "桃源镇视频接访室", "录像 00:0"):
            assert text in html, text
        assert documents.intact(document)
        assert "reception_record" in documents.SERVED_KINDS
        actions = [a for a in s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))
                   if a.startswith(("record.", "document."))]
        issued = s.scalar(select(AuditEvent).where(AuditEvent.action == "document.issued"))
    assert actions == ["record.started", "record.entry_added", "record.frozen", "record.signed", "record.signed",
                       "record.refused", "record.confirmed", "record.confirmed", "document.issued", "record.issued",
                       "document.served"]
    assert json.loads(issued.data)["sha256"] == document.sha256


def test_a_changed_byte_in_a_stored_signature_fails_the_integrity_check(db, org):
    call = ended_call(db, org, recorder=False)
    _written(db, call, "记录")
    end_call(db, call)
    with db.transaction() as s:
        booking = _booking(s, call)
        for name in ("张三", "李四", "王五"):
            records.sign(db=s, booking=booking, participant_id=call.signers[name], png=png(shade=len(name)), actor_id=None)
        records.confirm(db=s, booking=booking, person_id=call.leader)
        document_id = records.record_of(booking, db=s).document_id
    with db.transaction() as s:
        assert documents.intact(s.get(Document, document_id))
        stored = s.scalars(select(RecordSignature).order_by(RecordSignature.id)).first()
        changed = bytearray(stored.png)
        changed[-20] ^= 0x01
        stored.png = bytes(changed)
    with db.transaction() as s:
        assert not documents.intact(s.get(Document, document_id))


def test_an_outsider_signer_is_refused_and_nothing_is_written(db, org):
    call = ended_call(db, org)
    _written(db, call, "记录")
    end_call(db, call)
    clock.travel_to(clock.now() + timedelta(hours=2))
    other = ended_call(db, org)
    before = _counts(db)
    with db.transaction() as s:
        booking = _booking(s, call)
        leader_seat = next(p.id for p in booking.participants if p.role == "leader")
        for outsider in (other.signers["张三"], leader_seat, 999_999):
            with pytest.raises(Forbidden):
                records.sign(db=s, booking=booking, participant_id=outsider, png=png(), actor_id=None)
            with pytest.raises(Forbidden):
                records.refuse(db=s, booking=booking, participant_id=outsider, reason="x", actor_id=None)
    assert _counts(db) == before


def test_oversize_or_not_png_is_refused_and_nothing_is_written(db, org):
    call = ended_call(db, org)
    _written(db, call, "记录")
    end_call(db, call)
    before = _counts(db)
    with db.transaction() as s:
        booking = _booking(s, call)
        huge = png() + b"\x00" * (records.MAX_SIGNATURE_BYTES + 1)
        with pytest.raises(TooLarge) as raised:
            records.sign(db=s, booking=booking, participant_id=call.signers["张三"], png=huge, actor_id=None)
        assert raised.value.status == 413
        for bad in (b"GIF89a" + b"\x00" * 64, b"", b"\x89PNG\r\n\x1a\n"):
            with pytest.raises(Invalid):
                records.sign(db=s, booking=booking, participant_id=call.signers["张三"], png=bad, actor_id=None)
        with pytest.raises(Invalid):
            records.refuse(db=s, booking=booking, participant_id=call.signers["张三"], reason="  ", actor_id=None)
    assert _counts(db) == before


def test_signing_waits_for_the_end_and_each_signer_signs_once(db, org):
    call = ended_call(db, org)
    with db.transaction() as s:
        with pytest.raises(Conflict):  # nothing written yet
            records.sign(db=s, booking=_booking(s, call), participant_id=call.signers["张三"], png=png(), actor_id=None)
    _written(db, call, "记录")
    with db.transaction() as s:
        with pytest.raises(Conflict):  # the call still runs
            records.sign(db=s, booking=_booking(s, call), participant_id=call.signers["张三"], png=png(), actor_id=None)
        with pytest.raises(Conflict):
            records.confirm(db=s, booking=_booking(s, call), person_id=call.leader)
    end_call(db, call)
    with db.transaction() as s:
        booking = _booking(s, call)
        records.sign(db=s, booking=booking, participant_id=call.signers["张三"], png=png(), actor_id=None)
    before = _counts(db)
    with db.transaction() as s:
        booking = _booking(s, call)
        with pytest.raises(Conflict):
            records.refuse(db=s, booking=booking, participant_id=call.signers["张三"], reason="改主意", actor_id=None)
        with pytest.raises(Forbidden):  # only the leader and the recorder confirm
            records.confirm(db=s, booking=booking, person_id=999_999)
    assert _counts(db) == before
