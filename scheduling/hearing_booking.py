"""Booking a hearing's session from the hearing: the notice period, the chair's seat, every party, the notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from scheduling import booking
from scheduling.booking import ParticipantSpec
from scheduling.policy import Policy
from signaling.roles import ROLES
from vreception.clock import now as clock_now
from vreception.errors import Invalid
from vreception.hearings import notice
from vreception.hearings.panel import sitting
from vreception.models.hearings import ClosedReason, Hearing
from vreception.models.scheduling import ReceptionSession

# Witnesses are seated only once the call side knows the role (signaling/roles.py).
WITNESS = "witness"


def parties(hearing: Hearing, *, handler_ids: Sequence[int], petitioners: Sequence[str],
            representatives: Sequence[str] = (), agent: str = "",
            witnesses: Sequence[str] = ()) -> list[ParticipantSpec]:
    """The seats besides the chair's and the rooms': recorder, panel, handlers, petitioners, agent, witnesses."""
    assert hearing.recorder_id is not None  # notice.check_ready saw to it
    specs = [ParticipantSpec("recorder", hearing.recorder_id)]
    specs += [ParticipantSpec("hearing_member", m.person_id) for m in sitting(hearing)]
    specs += [ParticipantSpec("handler", person_id) for person_id in handler_ids]
    specs += [ParticipantSpec("petitioner", None, name) for name in petitioners if name.strip()]
    specs += [ParticipantSpec("representative", None, name) for name in representatives if name.strip()]
    if agent.strip():
        specs.append(ParticipantSpec("agent", None, agent))
    if any(w.strip() for w in witnesses) and WITNESS not in ROLES:
        raise Invalid("error.participant_role", field="witnesses", role=WITNESS)
    specs += [ParticipantSpec(WITNESS, None, name) for name in witnesses if name.strip()]
    return specs


def book_hearing(db: Session, *, policy: Policy, hearing: Hearing, room_ids: list[int], starts_at: datetime | None,
                 ends_at: datetime | None, handler_ids: Sequence[int] = (), petitioners: Sequence[str] = (),
                 representatives: Sequence[str] = (), agent: str = "", witnesses: Sequence[str] = (),
                 notice_waived: bool = False, waiver_note: str = "", recorded: bool = True,
                 actor_id: int | None = None, now: datetime | None = None) -> ReceptionSession:
    """Book the hearing's session with its chair in the leader's seat, after the notice period, and notice everyone."""
    now = now or clock_now()
    notice.check_ready(hearing, policy.hearing_panel_sizes)
    if starts_at is None:
        raise Invalid("error.times_required", field="start")
    note = notice.check_period(starts_at=starts_at, at=now, notice_days=policy.hearing_notice_days,
                               waived=notice_waived, waiver_note=waiver_note)
    if not recorded and hearing.closed_reason is not ClosedReason.state_secret:
        # Only a hearing closed for a state secret may go unrecorded.
        raise Invalid("error.unrecorded_needs_hearing_reason", field="record")
    assert hearing.chair_id is not None  # notice.check_ready saw to it
    session = booking.book(
        db, policy=policy, kind="hearing", leader_id=hearing.chair_id, room_ids=room_ids, matter_id=hearing.matter_id,
        starts_at=starts_at, ends_at=ends_at,
        participants=parties(hearing, handler_ids=handler_ids, petitioners=petitioners,
                             representatives=representatives, agent=agent, witnesses=witnesses),
        invited=True, coordinator=True, reason="听证" if recorded else "听证（涉及国家秘密，不录制）",
        actor_id=actor_id, now=now, recorded=recorded)
    notice.noticed(db, hearing=hearing, booking=session, waiver_note=note, actor_id=actor_id)
    return session
