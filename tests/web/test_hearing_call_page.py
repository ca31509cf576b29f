"""A hearing's call page: the recorder writes the 笔录 beside the video; the panel does not."""

from __future__ import annotations

import pytest

from tests.factories import page_client, token
from tests.records.hearing_helpers import held_hearing
from vreception.models.records import ReceptionRecord


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_recorder_writes_the_record_from_the_call_page_and_the_panel_cannot(app, db, org):
    held = held_hearing(db, org)
    recorder = page_client(app, "coord.county")  # the hearing's recorder (记录员)
    page = recorder.get(f"/calls/{held.session}")
    assert page.status_code == 200 and 'id="record-form"' in page.text and "视频听证" in page.text
    saved = recorder.post(f"/calls/{held.session}/record", data={"notes": "信访人陈述：工资未结清。",
                                                                  "csrf_token": token(recorder)})
    assert saved.status_code == 200, saved.text
    assert saved.json()["offset_s"] is not None  # stamped with its offset into the running recording
    member = page_client(app, "hearing")
    member_page = member.get(f"/calls/{held.session}")
    assert member_page.status_code == 200 and 'id="record-form"' not in member_page.text
    refused = member.post(f"/calls/{held.session}/record", data={"notes": "听证员自行记录", "csrf_token": token(member)})
    assert refused.status_code == 403
    with db.transaction() as s:
        texts = [e.text for r in s.query(ReceptionRecord).all() for e in r.entries]
    assert texts == ["信访人陈述：工资未结清。"]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_kiosk_signs_a_hearing_transcript_and_the_gallery_is_not_among_those_present(app, db, org):
    from tests.records.hearing_helpers import end_hearing
    from vreception import audit, records
    from vreception.models.scheduling import Participant, ReceptionSession

    held = held_hearing(db, org)
    with db.transaction() as s:
        booking = s.get(ReceptionSession, held.session)
        viewer = Participant(session_id=booking.id, role="observer", name="旁听1", node_path="")
        s.add(viewer)
        s.flush()
        audit.record(db=s, action="call.participant_joined", entity_type="session", entity_id=booking.id,
                     actor_id=None, data={"participant_id": viewer.id, "role": "observer", "resumed": False})
        records.add_entry(db=s, booking=booking, text="信访人陈述：工资未结清。", actor_id=held.recorder)
    end_hearing(db, held)
    kiosk = page_client(app, "room.township")
    page = kiosk.get(f"/kiosk/sessions/{held.session}/sign")
    assert page.status_code == 200
    assert "听证笔录：阅读与签名" in page.text and "接谈记录" not in page.text
    assert "主持人" in page.text and "旁听1" not in page.text
