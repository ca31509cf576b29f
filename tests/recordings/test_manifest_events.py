"""Evidence shown during a recorded call goes into the recording's manifest, and `verify` still passes."""

from __future__ import annotations

import json

from recordings import service
from scheduling.policy import Policy
from signaling.events import EvidenceEnded, EvidenceShown, ParticipantAdmitted
from tests.recordings.test_service import _recorded, _verify
from vreception import clock
from vreception.models.recordings import Recording
from web.calls import persist


def test_page_events_are_listed_in_the_manifest_with_their_offsets(db, org, local_storage):
    recording_id, session_id, (leader, room) = _recorded(db, org, local_storage, finalise=False)
    item = "doc:7"
    for event in (EvidenceShown(session_id=session_id, at=clock.now(), by=leader, item=item, page=1, pages=2),
                  ParticipantAdmitted(session_id=session_id, at=clock.now(), participant_id=room, by=leader),
                  EvidenceShown(session_id=session_id, at=clock.now(), by=leader, item=item, page=2, pages=2),
                  EvidenceEnded(session_id=session_id, at=clock.now(), by=leader, item=item)):
        persist.record_events(session_id, [event], Policy(), db=db)
    with db.transaction() as session:
        recording = session.get(Recording, recording_id)
        service.finalise(db=session, recording=recording, storage=local_storage)
        manifest = json.loads(recording.manifest)
    events = manifest["events"]
    assert [(e["kind"], e.get("page"), e["participant_id"], e["item"]) for e in events] == [
        ("evidence_shown", 1, leader, item), ("evidence_shown", 2, leader, item), ("evidence_ended", None, leader, item)]
    assert all(e["offset_s"] >= 0 and e["at"].endswith("Z") for e in events)
    assert events[0]["offset_s"] <= events[1]["offset_s"] <= events[2]["offset_s"]
    assert events[0]["pages"] == 2
    assert _verify(db, recording_id, local_storage).ok


def test_a_recording_without_evidence_has_no_events(db, org, local_storage):
    recording_id, _, _ = _recorded(db, org, local_storage)
    with db.transaction() as session:
        assert json.loads(session.get(Recording, recording_id).manifest)["events"] == []
