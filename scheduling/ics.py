"""Calendar feeds (ICS) per leader and per room, read by calendar clients through a signed feed URL."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from scheduling.plans import occurrences, plans_of_leader
from scheduling.policy import Policy, local_day
from vreception import audit
from vreception.auth import tokens
from vreception.clock import now as clock_now
from vreception.errors import Forbidden, Unauthenticated
from vreception.i18n import translate
from vreception.models import SignIn
from vreception.models.org import Room
from vreception.models.scheduling import Participant, ReceptionSession, SessionState
from vreception.workdays import load_calendar

FEED_PURPOSE = "feed"
PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
PLAN_AHEAD_DAYS = 62


def feed_token(secret: str, *, db: Session, policy: Policy, subject: str, person_id: int) -> tuple[str, datetime]:
    """A long-lived signed token that lets a calendar client read one feed ("leader:7", "room:3"); revocable."""
    opened = SignIn(id=secrets.token_hex(16), person_id=person_id, via=FEED_PURPOSE, client=subject[:64],
                    created_at=clock_now(), expires_at=clock_now() + policy.feed_ttl, revoked_reason="")
    db.add(opened)
    db.flush()
    return tokens.issue(secret, subject=subject, purpose=FEED_PURPOSE, ttl=policy.feed_ttl, jti=opened.id)


def check_feed_token(secret: str, token: str, *, db: Session, subject: str) -> None:
    """Unauthenticated if the token is bad, expired or revoked, Forbidden if it is for another feed."""
    claims = tokens.read(secret, token, purpose=FEED_PURPOSE)
    if claims["sub"] != subject:
        raise Forbidden()
    opened = db.get(SignIn, str(claims.get("jti", "")))
    if opened is None or opened.via != FEED_PURPOSE or opened.client != subject[:64] or opened.revoked_at is not None:
        raise Unauthenticated("error.token_invalid")


def revoke_feeds(*, db: Session, subject: str, actor_id: int) -> int:
    """End every feed URL handed out for SUBJECT (a lost phone, a leader who moved on); how many were open."""
    result = db.execute(update(SignIn).where(SignIn.via == FEED_PURPOSE, SignIn.client == subject[:64],
                                             SignIn.revoked_at.is_(None))
                        .values(revoked_at=clock_now(), revoked_reason="feed revoked"))
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(db=db, action="calendar.feeds_revoked", entity_type="feed", entity_id=subject, actor_id=actor_id,
                 data={"feeds": count})
    return count


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//vreception//scheduling//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _session_event(booking: ReceptionSession, stamp: datetime, language: str) -> Event:
    event = Event()
    event.add("uid", f"session-{booking.id}@vreception")
    event.add("dtstamp", stamp)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("sequence", booking.version)
    # Feeds end up on phones: rooms and the leader only, never a petitioner's name.
    event.add("summary", translate(f"session.kind.{booking.kind.value}", language))
    event.add("location", "、".join(p.name for p in booking.participants if p.room_id is not None))
    event.add("status", "CANCELLED" if booking.state is SessionState.cancelled else "CONFIRMED")
    return event


def _sessions_between(condition: ColumnElement[bool], now: datetime, *, db: Session) -> list[ReceptionSession]:
    query = (select(ReceptionSession).where(condition, ReceptionSession.starts_at >= now - PAST,
                                            ReceptionSession.starts_at < now + AHEAD)
             .order_by(ReceptionSession.starts_at))
    return list(db.scalars(query))


def leader_feed(*, db: Session, policy: Policy, leader_id: int, name: str, language: str = "zh-CN",
                now: datetime | None = None) -> bytes:
    """The leader's sessions and published reception days as an iCalendar document."""
    now = now or clock_now()
    cal = _calendar(name)
    for booking in _sessions_between(ReceptionSession.leader_id == leader_id, now, db=db):
        cal.add_component(_session_event(booking, now, language))
    today = local_day(policy, now)
    for occ in occurrences(db=db, plans=plans_of_leader(leader_id, db=db), calendar=load_calendar(db=db),
                           policy=policy, first=today, last=today + timedelta(days=PLAN_AHEAD_DAYS),
                           leader_id=leader_id):
        event = Event()
        event.add("uid", f"plan-{occ.plan.id}-{occ.day.isoformat()}-{leader_id}@vreception")
        event.add("dtstamp", now)
        event.add("dtstart", occ.starts_at)
        event.add("dtend", occ.ends_at)
        event.add("summary", translate("plan.reception_day", language))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    document: bytes = cal.to_ical()  # icalendar leaves to_ical unannotated
    return document


def room_feed(*, db: Session, room: Room, language: str = "zh-CN", now: datetime | None = None) -> bytes:
    """The room's sessions as an iCalendar document."""
    now = now or clock_now()
    cal = _calendar(room.name)
    in_room = ReceptionSession.id.in_(select(Participant.session_id).where(Participant.room_id == room.id))
    for booking in _sessions_between(in_room, now, db=db):
        cal.add_component(_session_event(booking, now, language))
    document: bytes = cal.to_ical()  # icalendar leaves to_ical unannotated
    return document
