"""A hearing session that ran: chair, recorder, a handler, a panel of three, the petitioner and an agent in the
township room, a recording; the Hearing row written directly (as helper A's service would write it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tests.factories import add_person, matter_row
from tests.records.helpers import MANIFEST_SHA256
from vreception import audit, clock
from vreception.models.cases import Demand
from vreception.models.hearings import (
    AgendaEntry,
    AgendaStep,
    ClosedReason,
    Hearing,
    HearingStage,
    HearingState,
    PanelMember,
)
from vreception.models.recordings import Recording, RecordingState
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState


@dataclass
class HeldHearing:
    hearing: int
    session: int
    matter: int
    number: str
    chair: int
    recorder: int
    handler: int
    panel: list[int]  # person ids; the last one withdrawn when asked
    signers: dict = field(default_factory=dict)  # name → participant id
    recording: int | None = None


def panel_people(db, org) -> list[int]:
    """Three hearing members of the county: the org's own and two more."""
    with db.transaction() as s:
        for key in ("hearing2", "hearing3", "hearing4"):
            if key not in org.people:
                add_person(s, org, key, "hearing_member", "county", title="听证员")
    return [org.people[k].id for k in ("hearing", "hearing2", "hearing3")]


def held_hearing(db, org, *, panel: list[int] | None = None, withdrawn: bool = False, deliberation: bool = True,
                 state: SessionState = SessionState.live) -> HeldHearing:
    """A hearing session live (or as STATE) with entries possible; agenda up to the deliberation when asked."""
    panel = panel or panel_people(db, org)
    p = org.people
    now = clock.now()
    with db.transaction() as s:
        matter = matter_row(s, origin=org.nodes["township"], handling=org.nodes["county"], state="registered",
                            received_at=now - timedelta(days=100))
        matter.demands = [Demand(position=0, summary="要求补发拖欠工资三万元", category="wages")]
        item = ReceptionSession(kind=SessionKind.hearing, state=state, leader_id=p["leader_county"].id,
                                matter_id=matter.id, node_path=org.nodes["county"].path,
                                starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=30))
        item.participants = [
            Participant(role="chair", person_id=p["leader_county"].id, name=p["leader_county"].name,
                        node_path=org.nodes["county"].path),
            Participant(role="room", room_id=org.rooms["township"].id, name=org.rooms["township"].name,
                        node_path=org.nodes["township"].path),
            Participant(role="petitioner", name="张三", node_path=""),
            Participant(role="agent", name="赵律师", node_path=""),
            Participant(role="recorder", person_id=p["coord_county"].id, name=p["coord_county"].name,
                        node_path=org.nodes["county"].path),
            Participant(role="handler", person_id=p["handler"].id, name=p["handler"].name,
                        node_path=org.nodes["county_dept"].path),
        ] + [Participant(role="hearing_member", person_id=person, name=f"panel{person}", node_path="")
             for person in panel]
        s.add(item)
        s.flush()
        hearing = Hearing(matter_id=matter.id, node_id=org.nodes["county"].id, stage=HearingStage.recheck,
                          state=HearingState.in_session, decision_due=date(2026, 1, 1), public=False,
                          closed_reason=ClosedReason.privacy, chair_id=p["leader_county"].id,
                          recorder_id=p["coord_county"].id, session_id=item.id, started_at=item.starts_at)
        hearing.panel = [PanelMember(person_id=person, withdrawn=withdrawn and i == len(panel) - 1)
                         for i, person in enumerate(panel)]
        hearing.steps = [AgendaEntry(step=AgendaStep.opening, at=now - timedelta(seconds=85), offset_s=5.0)]
        if deliberation:
            hearing.steps.append(AgendaEntry(step=AgendaStep.deliberation, at=now - timedelta(seconds=30),
                                             offset_s=61.0))
        s.add(hearing)
        recording = Recording(session_id=item.id, state=RecordingState.recording, storage="local",
                              prefix=f"sessions/{item.id}/", started_at=now - timedelta(seconds=90))
        s.add(recording)
        s.flush()
        for seat in item.participants:
            if seat.role in ("chair", "room", "recorder", "handler", "hearing_member"):
                audit.record(db=s, action="call.participant_joined", entity_type="session", entity_id=item.id,
                             actor_id=seat.person_id, data={"participant_id": seat.id, "role": seat.role,
                                                            "resumed": False})
        signers = {x.name: x.id for x in item.participants if x.role in ("petitioner", "agent")}
        return HeldHearing(hearing.id, item.id, matter.id, matter.number, p["leader_county"].id,
                           p["coord_county"].id, p["handler"].id, panel, signers, recording.id)


def end_hearing(db, held: HeldHearing) -> None:
    """The hearing session ends and its recording is finalised with a manifest hash."""
    with db.transaction() as s:
        s.get(ReceptionSession, held.session).state = SessionState.ended
        hearing = s.get(Hearing, held.hearing)
        hearing.state, hearing.ended_at = HearingState.held, clock.now()
        row = s.get(Recording, held.recording)
        row.state, row.manifest_sha256, row.ended_at = RecordingState.finalised, MANIFEST_SHA256, clock.now()
