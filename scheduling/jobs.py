"""Background jobs over sessions: reminders through the notification outbox, no-shows, and the month just ended's
session counts stored (scheduling.session_counts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling import session_counts
from scheduling.policy import Policy, policy_from
from scheduling.session_state import change_state
from vreception.config import Settings
from vreception.db import Database
from vreception.i18n import translate
from vreception.models.org import Room
from vreception.models.people import Person, Role, RoleAssignment
from vreception.models.scheduling import ReceptionSession, SessionState
from vreception.models.tasks import Notification

KIND = "session.reminder"


def _recipients(booking: ReceptionSession, *, db: Session) -> list[tuple[str, int, Person | None]]:
    """(who, node, person) for the leader, each room's kiosk account and the coordinator who booked."""
    out: list[tuple[str, int, Person | None]] = []
    leader = db.get(Person, booking.leader_id)
    assert leader is not None  # a foreign key of the session
    out.append(("leader", leader.node_id, leader))
    for p in booking.participants:
        if p.room_id is None:
            continue
        room = db.get(Room, p.room_id)
        assert room is not None  # a foreign key of the participant
        kiosk = db.scalar(select(Person).join(RoleAssignment).where(
            RoleAssignment.role == Role.room, RoleAssignment.room_id == room.id, Person.active.is_(True)).limit(1))
        out.append((f"room{room.id}", room.node_id, kiosk))
    if booking.booked_by is not None:
        coordinator = db.get(Person, booking.booked_by)
        assert coordinator is not None  # a foreign key of the session
        out.append(("coordinator", coordinator.node_id, coordinator))
    return out


def _names(booking: ReceptionSession, *, db: Session) -> tuple[str, str]:
    """The session's leader and its rooms, as a reminder names them."""
    leader = db.get(Person, booking.leader_id)
    rooms = [db.get(Room, p.room_id) for p in booking.participants if p.room_id is not None]
    return (leader.name if leader else ""), "、".join(r.name for r in rooms if r is not None)


def remind_sessions(*, db: Session, now: datetime, policy: Policy) -> int:
    """Raise each due reminder of upcoming sessions once (idempotent); returns how many were raised."""
    leads = sorted(policy.reminder_leads)
    if not leads:
        return 0
    upcoming = list(db.scalars(select(ReceptionSession).where(
        ReceptionSession.state == SessionState.booked, ReceptionSession.starts_at > now,
        ReceptionSession.starts_at <= now + leads[-1])))
    raised = 0
    for booking in upcoming:
        # Only the nearest stage: a job that missed the day-before run does not send it an hour before.
        lead = next(lead for lead in leads if booking.starts_at - now <= lead)
        stage = f"{int(lead.total_seconds() // 60)}m"
        when = booking.starts_at.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M")
        recipients = _recipients(booking, db=db)
        # the leader and the rooms in the title: a coordinator's inbox lists many sessions' reminders side by side
        leader, rooms = _names(booking, db=db)
        title = translate("notify.session_reminder_title", when=when, leader=leader, rooms=rooms)[:200]
        body = translate("notify.session_reminder_body", when=when, id=booking.id, leader=leader, rooms=rooms)
        for who, node_id, person in recipients:
            key = f"{stage}.{who}"
            if db.scalar(select(Notification.id).where(
                    Notification.subject_type == "session", Notification.subject_id == booking.id,
                    Notification.stage == key, Notification.node_id == node_id)) is not None:
                continue
            note = Notification(kind=KIND, subject_type="session", subject_id=booking.id, stage=key, node_id=node_id,
                                person_id=person.id if person else None,
                                title=title, body=body,
                                email_to=(person.email if person else "") or "", created_at=now)
            try:
                # A job running twice at once: the unique key lets only one of them raise it.
                with db.begin_nested():
                    db.add(note)
                raised += 1
            except IntegrityError:
                pass
    return raised


def mark_no_shows(*, db: Session, now: datetime, policy: Policy) -> int:
    """Mark booked sessions nobody opened within the policy's grace of their start as no-show; returns how many."""
    grace = policy.no_show_grace
    late = list(db.scalars(select(ReceptionSession).where(
        ReceptionSession.state == SessionState.booked, ReceptionSession.starts_at <= now - grace)
        .with_for_update(skip_locked=True)))
    for booking in late:
        change_state(db=db, booking=booking, to=SessionState.no_show, at=now, policy=policy,
                     data={"grace_minutes": int(grace.total_seconds() // 60)})
    return len(late)


def session_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """The job-loop form of remind_sessions (its own transaction)."""
    with db.transaction() as tx:
        return remind_sessions(db=tx, now=at, policy=policy_from(settings))


def no_shows(db: Database, settings: Settings, at: datetime) -> int:
    """The job-loop form of mark_no_shows (its own transaction)."""
    with db.transaction() as tx:
        return mark_no_shows(db=tx, now=at, policy=policy_from(settings))


def month_end_sessions(db: Database, settings: Settings, at: datetime) -> int:
    """Store the sessions of the month just ended and count again the stored months marked stale: the statistics read
    them ready (they still count what is missing). After no_shows, whose last marks of the month it then counts."""
    with db.transaction() as tx:
        return session_counts.store_ended(db=tx, at=at)


JOBS = [session_reminders, no_shows, month_end_sessions]
