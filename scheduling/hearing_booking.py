"""Booking a hearing's session from the hearing (the notice period, the chair's seat, every party, the notices),
and keeping a booked session's seats with the hearing's chair, recorder and panel after a 回避."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling import booking, claims
from scheduling.booking import ParticipantSpec, load_session
from scheduling.errors import LeaderAway
from scheduling.lookup import load_leader, load_person
from scheduling.policy import Policy, local_day
from signaling.roles import ROLES
from vreception import audit
from vreception.clock import now as clock_now
from vreception.errors import Invalid
from vreception.hearings import errors, notice, panel, procedure, recusals
from vreception.hearings.panel import Seat, sitting
from vreception.hearings.procedure import S
from vreception.i18n import Msg
from vreception.models.hearings import ClosedReason, Hearing, Recusal
from vreception.models.scheduling import LeaderAbsence, Participant, ReceptionSession, SessionEvent, SessionState

# Witnesses are seated only once the call side knows the role (signaling/roles.py).
WITNESS = "witness"
# The seats the hearing itself fills; every other seat (rooms, handlers, parties) is the booking's.
STAFF_SEATS = ("chair", "recorder", "hearing_member")


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


def book_hearing(*, db: Session, policy: Policy, hearing: Hearing, room_ids: list[int], starts_at: datetime | None,
                 ends_at: datetime | None, handler_ids: Sequence[int] = (), petitioners: Sequence[str] = (),
                 representatives: Sequence[str] = (), agent: str = "", agent_authorisation: str = "",
                 witnesses: Sequence[str] = (), notice_waived: bool = False, waiver_note: str = "",
                 recorded: bool = True, actor_id: int | None = None, now: datetime | None = None) -> ReceptionSession:
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
    authorisation = notice.check_agent(db=db, hearing=hearing, agent=agent, authorisation=agent_authorisation)
    assert hearing.chair_id is not None  # notice.check_ready saw to it
    session = booking.book(
        db=db, policy=policy, kind="hearing", leader_id=hearing.chair_id, room_ids=room_ids, matter_id=hearing.matter_id,
        starts_at=starts_at, ends_at=ends_at,
        participants=parties(hearing, handler_ids=handler_ids, petitioners=petitioners,
                             representatives=representatives, agent=agent, witnesses=witnesses),
        invited=True, coordinator=True, reason="听证" if recorded else "听证（涉及国家秘密，不录制）",
        actor_id=actor_id, now=now, recorded=recorded)
    notice.noticed(db=db, hearing=hearing, booking=session, waiver_note=note, actor_id=actor_id,
                   authorisation=authorisation)
    return session


# ---- the staff of a booked hearing -----------------------------------------------------------------------------------

def _booked(hearing: Hearing, *, db: Session) -> ReceptionSession | None:
    """The booked session of a noticed hearing (None before it is booked); SeatsStarted once it has opened."""
    if hearing.state is not S.noticed or hearing.session_id is None:
        return None
    held = load_session(hearing.session_id, db=db)
    if held.state is not SessionState.booked:
        raise errors.SeatsStarted("error.hearing_session_started",
                                  state=Msg(f"session.state.{held.state.value}"))
    return held


def appoint(*, db: Session, policy: Policy, hearing: Hearing, chair_id: int, recorder_id: int,
            actor_id: int | None) -> Hearing:
    """Appoint the chair and the recorder; once booked, the session's seats move to them (procedure.appoint)."""
    held = _booked(hearing, db=db)
    procedure.appoint(db=db, hearing=hearing, chair_id=chair_id, recorder_id=recorder_id, actor_id=actor_id)
    if held is not None:
        reseat(db=db, policy=policy, hearing=hearing, held=held, actor_id=actor_id)
    return hearing


def compose(*, db: Session, policy: Policy, hearing: Hearing, seats: Sequence[Seat], actor_id: int | None) -> Hearing:
    """Compose the panel; once booked, a member filling a withdrawn member's place is seated (panel.compose)."""
    held = _booked(hearing, db=db)
    panel.compose(db=db, hearing=hearing, seats=seats, sizes=policy.hearing_panel_sizes, actor_id=actor_id)
    if held is not None:
        reseat(db=db, policy=policy, hearing=hearing, held=held, actor_id=actor_id)
    return hearing


def decide_recusal(*, db: Session, policy: Policy, hearing: Hearing, recusal: Recusal, granted: bool, reason: str,
                   actor_id: int | None) -> Recusal:
    """Decide a 回避 request (recusals.decide); before the session opens, a withdrawn person's seat goes at once."""
    recusals.decide(db=db, hearing=hearing, recusal=recusal, granted=granted, reason=reason, actor_id=actor_id)
    held = load_session(hearing.session_id, db=db) if hearing.session_id is not None else None
    if granted and hearing.state is S.noticed and held is not None and held.state is SessionState.booked:
        reseat(db=db, policy=policy, hearing=hearing, held=held, actor_id=actor_id)
    # Once the session has opened, the seat stays: the chair keeps the floor from whoever withdrew.
    return recusal


def _staff(hearing: Hearing) -> dict[int, str]:
    """The hearing's own seats by person: the chair, the recorder and the sitting panel."""
    out = {m.person_id: "hearing_member" for m in sitting(hearing)}
    for person_id, role in ((hearing.recorder_id, "recorder"), (hearing.chair_id, "chair")):
        if person_id is not None:
            out[person_id] = role
    return out


def reseat(*, db: Session, policy: Policy, hearing: Hearing, held: ReceptionSession,
           actor_id: int | None) -> list[Participant]:
    """The booked session's seats follow the hearing: those who left lose theirs (a new row for each newcomer, so no
    join token issued for a seat passes to its next holder), the chair's time moves to the new chair, every
    resource is claimed again (409 when a newcomer is busy then), newcomers are noticed; returns the newcomers."""
    wanted = _staff(hearing)
    seated = {(p.person_id, p.role): p for p in held.participants if p.role in STAFF_SEATS and p.person_id is not None}
    gone = [p for (person, role), p in seated.items() if wanted.get(person) != role]
    coming = [(person, role) for person, role in wanted.items() if (person, role) not in seated]
    if not gone and not coming:
        return []
    claims.release(db=db, booking=held)
    for seat in gone:
        held.participants.remove(seat)
    newcomers = []
    for person_id, role in coming:
        person = load_person(person_id, db=db)
        newcomers.append(Participant(role=role, person_id=person.id, name=person.name[:100],
                                     node_path=person.node.path))
    held.participants.extend(newcomers)
    old_chair = held.leader_id
    if hearing.chair_id is not None and hearing.chair_id != held.leader_id:
        chair = load_leader(hearing.chair_id, "chair_id", db=db)
        day = local_day(policy, held.starts_at)
        if db.scalar(select(LeaderAbsence.id).where(LeaderAbsence.leader_id == chair.id, LeaderAbsence.day == day)):
            raise LeaderAway("error.leader_away", field="chair_id", leader=chair.name, day=day.isoformat())
        held.leader_id, held.node_path = chair.id, chair.node.path
    held.version += 1
    db.flush()
    claims.claim(db=db, booking=held, policy=policy)
    removed = [{"role": p.role, "person_id": p.person_id} for p in gone]
    added = [{"role": p.role, "person_id": p.person_id, "participant_id": p.id} for p in newcomers]
    db.add(SessionEvent(session_id=held.id, at=clock_now(), actor_id=actor_id, action="reseated",
                        starts_at=held.starts_at, ends_at=held.ends_at, reason="回避后更换听证人员"))
    audit.record(db=db, action="session.reseated", entity_type="session", entity_id=held.id, actor_id=actor_id,
                 data={"hearing_id": hearing.id, "removed": removed, "added": added,
                       "leader_from": old_chair, "leader_to": held.leader_id})
    procedure.record(hearing, "reseated", actor_id, db=db, session_id=held.id, removed=removed, added=added)
    if newcomers:
        notice.restaffed(db=db, hearing=hearing, booking=held, newcomers=newcomers, actor_id=actor_id)
    return newcomers
