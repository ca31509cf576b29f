"""A hearing's call writes its order of proceedings: the agenda entry with its recording offset, audited."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from scheduling.policy import Policy
from signaling.events import AgendaChanged, DeliberationChanged
from tests.factories import make_matter, session_row
from vreception import clock
from vreception.models import AuditEvent
from vreception.models.hearings import AgendaEntry, AgendaStep, Hearing, HearingStage, HearingState
from vreception.models.recordings import Recording, RecordingState
from vreception.models.scheduling import Participant, SessionKind
from web.calls import persist


def _hearing(db, org, *, recording_started=None):
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"], state="accepted")
    with db.transaction() as s:
        booked = session_row(s, org, starts_at=clock.now(), matter_id=matter_id, roles=("hearing_member",))
        booked.kind = SessionKind.hearing
        chair = Participant(role="chair", person_id=org.people["leader_county"].id, name="主持人")
        gallery = Participant(role="observer", name="旁听1")
        booked.participants += [chair, gallery]
        hearing = Hearing(matter_id=matter_id, node_id=org.nodes["county"].id, stage=HearingStage.handling,
                          state=HearingState.in_session, decision_due=date(2030, 1, 1), session_id=booked.id)
        s.add(hearing)
        if recording_started is not None:
            s.add(Recording(session_id=booked.id, state=RecordingState.recording, storage="local", prefix="x",
                            started_at=recording_started))
        s.flush()
        return booked.id, hearing.id, chair.id, gallery.id, booked.participants[0].id


def test_an_agenda_step_is_written_with_its_recording_offset_and_audited(db, org):
    start = clock.now() - timedelta(seconds=90)
    session_id, hearing_id, chair, _, _ = _hearing(db, org, recording_started=start)
    at = clock.now()
    persist.record_events(session_id, [AgendaChanged(session_id=session_id, at=at, by=chair,
                                                         step="petitioner_states")], Policy(), db=db)
    with db.transaction() as s:
        hearing = s.get(Hearing, hearing_id)
        assert hearing.agenda_step is AgendaStep.petitioner_states
        entry = s.scalars(select(AgendaEntry).where(AgendaEntry.hearing_id == hearing_id)).one()
        assert entry.step is AgendaStep.petitioner_states
        assert abs(entry.offset_s - (at - start).total_seconds()) < 0.01
        assert entry.by == org.people["leader_county"].id
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == "hearing.agenda_step")).one()
        assert audited.entity_id == str(hearing_id) and audited.actor_id == org.people["leader_county"].id
        assert '"petitioner_states"' in audited.data


def test_without_a_recording_the_step_has_no_offset_and_the_deliberation_is_audited(db, org):
    session_id, hearing_id, chair, _, member = _hearing(db, org)
    now = clock.now()
    persist.record_events(session_id, [
        AgendaChanged(session_id=session_id, at=now, by=chair, step="deliberation"),
        DeliberationChanged(session_id=session_id, at=now, by=chair, active=True, held=[member]),
    ], Policy(), db=db)
    with db.transaction() as s:
        entry = s.scalars(select(AgendaEntry).where(AgendaEntry.hearing_id == hearing_id)).one()
        assert entry.offset_s is None and entry.step is AgendaStep.deliberation
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert "hearing.agenda_step" in actions and "call.deliberation_changed" in actions


def test_the_ticket_knows_the_hearing_its_step_and_the_gallery_seat(db, org):
    session_id, hearing_id, chair, gallery, member = _hearing(db, org)
    with db.transaction() as s:
        s.get(Hearing, hearing_id).agenda_step = AgendaStep.cross_examination
    ticket = persist.load_ticket(session_id, gallery, db=db)
    assert ticket.hearing and ticket.agenda_step == "cross_examination" and ticket.gallery
    assert ticket.role == "observer"
    chair_ticket = persist.load_ticket(session_id, chair, db=db)
    assert chair_ticket.role == "chair" and not chair_ticket.gallery
