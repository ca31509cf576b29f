"""Background jobs over sessions: reminders through the notification outbox, and no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling import claims
from scheduling.policy import Policy, policy_from
from vreception import audit
from vreception.i18n import translate
from vreception.models.org import Room
from vreception.models.people import Person, Role, RoleAssignment
from vreception.models.scheduling import ReceptionSession, SessionEvent, SessionState
from vreception.models.tasks import Notification

KIND = "session.reminder"


def _recipients(session: Session, booking: ReceptionSession) -> list[tuple[str, int, Person | None]]:
    """(who, node, person) for the leader, each room's kiosk account and the coordinator who booked."""
    out = []
    leader = session.get(Person, booking.leader_id)
    out.append(("leader", leader.node_id, leader))
    for p in booking.participants:
        if p.room_id is None:
            continue
        room = session.get(Room, p.room_id)
        kiosk = session.scalar(select(Person).join(RoleAssignment).where(
            RoleAssignment.role == Role.room, RoleAssignment.room_id == room.id, Person.active.is_(True)).limit(1))
        out.append((f"room{room.id}", room.node_id, kiosk))
    if booking.booked_by is not None:
        coordinator = session.get(Person, booking.booked_by)
        out.append(("coordinator", coordinator.node_id, coordinator))
    return out


def remind_sessions(session: Session, now: datetime, *, policy: Policy | None = None) -> int:
    """Raise each due reminder of upcoming sessions once (idempotent); returns how many were raised."""
    policy = policy or policy_from()
    leads = sorted(policy.reminder_leads)
    if not leads:
        return 0
    upcoming = list(session.scalars(select(ReceptionSession).where(
        ReceptionSession.state == SessionState.booked, ReceptionSession.starts_at > now,
        ReceptionSession.starts_at <= now + leads[-1])))
    raised = 0
    for booking in upcoming:
        # Only the nearest stage: a job that missed the day-before run does not send it an hour before.
        lead = next(lead for lead in leads if booking.starts_at - now <= lead)
        stage = f"{int(lead.total_seconds() // 60)}m"
        when = booking.starts_at.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M")
        for who, node_id, person in _recipients(session, booking):
            key = f"{stage}.{who}"
            if session.scalar(select(Notification.id).where(
                    Notification.subject_type == "session", Notification.subject_id == booking.id,
                    Notification.stage == key, Notification.node_id == node_id)) is not None:
                continue
            note = Notification(kind=KIND, subject_type="session", subject_id=booking.id, stage=key, node_id=node_id,
                                person_id=person.id if person else None,
                                title=translate("notify.session_reminder_title", when=when),
                                body=translate("notify.session_reminder_body", when=when, id=booking.id),
                                email_to=(person.email if person else "") or "", created_at=now)
            try:
                # A job running twice at once: the unique key lets only one of them raise it.
                with session.begin_nested():
                    session.add(note)
                raised += 1
            except IntegrityError:
                pass
    return raised


def mark_no_shows(session: Session, now: datetime, grace: timedelta | None = None) -> int:
    """Mark booked sessions nobody opened within GRACE of their start as no-show; returns how many."""
    grace = grace if grace is not None else policy_from().no_show_grace
    late = list(session.scalars(select(ReceptionSession).where(
        ReceptionSession.state == SessionState.booked, ReceptionSession.starts_at <= now - grace)
        .with_for_update(skip_locked=True)))
    for booking in late:
        booking.state = SessionState.no_show
        claims.release_from(session, booking=booking, moment=now, policy=policy_from())
        session.add(SessionEvent(session_id=booking.id, at=now, action="no_show", starts_at=booking.starts_at,
                                 ends_at=booking.ends_at))
        session.flush()
        audit.record(session, action="session.no_show", entity_type="session", entity_id=booking.id,
                     data={"grace_minutes": int(grace.total_seconds() // 60)})
    return len(late)


def session_reminders(db, settings, at: datetime) -> int:
    """The job-loop form of remind_sessions (its own transaction)."""
    with db.transaction() as session:
        return remind_sessions(session, at, policy=policy_from(settings))


def no_shows(db, settings, at: datetime) -> int:
    """The job-loop form of mark_no_shows (its own transaction)."""
    with db.transaction() as session:
        return mark_no_shows(session, at, policy_from(settings).no_show_grace)


JOBS = [session_reminders, no_shows]
