"""Reads of reception sessions and plans for a principal: a leader's agenda, a room's sessions, published plans."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from scheduling.plans import Occurrence, occurrences, plans_of_node
from scheduling.policy import Policy
from scheduling.states import JOINABLE
from vreception.auth.access import Principal
from vreception.cases import public
from vreception.models import Matter, MatterEvent, Node, Person, Role, Room
from vreception.models.scheduling import (
    Participant,
    PlanLeader,
    ReceptionPlan,
    ReceptionSession,
    SessionState,
)
from vreception.org.queries import leaders_in, people_by_id, rooms_by_id
from vreception.workdays import load_calendar

OFFICE = (Role.coordinator,)
HISTORY = 5
OWNED = 200
NEXT_SESSIONS = 10
RECENT = 20
# No session lasts a day (bookings end within the policy's max_session, hours at most): this bounds the starts_at
# index range of an overlap read instead of walking every session ever held before the window.
LONGEST = timedelta(days=1)


def overlapping(first: datetime, last: datetime) -> ColumnElement[bool]:
    """Sessions overlapping [FIRST, LAST), as an index range on starts_at."""
    return and_(ReceptionSession.starts_at < last, ReceptionSession.starts_at > first - LONGEST,
                ReceptionSession.ends_at > first)


@dataclass(frozen=True)
class AgendaEntry:
    """A session on a leader's agenda with its matter, the matter's latest events and its earlier sessions."""

    session: ReceptionSession
    matter: Matter | None
    history: list[MatterEvent]
    earlier: list[ReceptionSession]


def leader_agenda(principal: Principal, first: datetime, last: datetime, history: int = HISTORY,
                  *, db: Session) -> list[AgendaEntry]:
    """The principal's own sessions overlapping [FIRST, LAST), cancelled ones left out, earliest first."""
    found = list(db.scalars(select(ReceptionSession).where(
        ReceptionSession.leader_id == principal.person_id, overlapping(first, last),
        ReceptionSession.state != SessionState.cancelled)
        .order_by(ReceptionSession.starts_at)))
    matter_ids = {s.matter_id for s in found if s.matter_id}
    matters = {m.id: m for m in db.scalars(select(Matter).where(Matter.id.in_(matter_ids)))}
    events = {mid: list(db.scalars(select(MatterEvent).where(MatterEvent.matter_id == mid)
                                   .order_by(MatterEvent.id.desc()).limit(history))) for mid in matter_ids}
    earlier = {mid: list(db.scalars(select(ReceptionSession).where(
        ReceptionSession.matter_id == mid, ReceptionSession.starts_at < first).order_by(ReceptionSession.starts_at)))
        for mid in matter_ids}
    return [AgendaEntry(s, matters.get(s.matter_id or 0), events.get(s.matter_id or 0, []),
                        earlier.get(s.matter_id or 0, [])) for s in found]


def owned_matters(principal: Principal, limit: int = OWNED, *, db: Session) -> list[Matter]:
    """The matters the principal owns as leader (包案), newest first."""
    return list(db.scalars(select(Matter).where(Matter.owner_leader_id == principal.person_id)
                           .order_by(Matter.id.desc()).limit(limit)))


def _in_rooms(room_ids: Collection[int]) -> Select[ReceptionSession]:
    return select(ReceptionSession).where(ReceptionSession.id.in_(
        select(Participant.session_id).where(Participant.room_id.in_(room_ids))))


def upcoming_in_rooms(room_ids: Collection[int], at: datetime, limit: int = NEXT_SESSIONS,
                      *, db: Session) -> list[ReceptionSession]:
    """The next sessions of the rooms not yet over at AT, earliest first."""
    query = _in_rooms(room_ids).where(ReceptionSession.state.in_(JOINABLE), ReceptionSession.ends_at > at)
    return list(db.scalars(query.order_by(ReceptionSession.starts_at).limit(limit)))


def rateable_in_rooms(room_ids: Collection[int], window_days: int, recent: int = RECENT,
                      *, db: Session) -> list[tuple[ReceptionSession, Matter]]:
    """Ended sessions of the rooms whose matter had its reply served and is not rated yet (one per matter)."""
    query = (_in_rooms(room_ids)
             .where(ReceptionSession.state == SessionState.ended, ReceptionSession.matter_id.isnot(None))
             .order_by(ReceptionSession.starts_at.desc()).limit(recent))
    out: list[tuple[ReceptionSession, Matter]] = []
    for item in db.scalars(query):
        matter = db.get(Matter, item.matter_id)
        if matter is not None and public.rating_open(matter, window_days) and all(m.id != matter.id for _, m in out):
            out.append((item, matter))
    return out


def session_in_rooms(session_id: int, room_ids: Collection[int], *, db: Session) -> ReceptionSession | None:
    """The session if one of the rooms takes part in it, else None."""
    return db.scalar(_in_rooms(room_ids).where(ReceptionSession.id == session_id))


def next_of_leader(booking: ReceptionSession, *, db: Session) -> ReceptionSession | None:
    """The leader's next session after BOOKING that can still be joined (where the leader goes after this call)."""
    return db.scalar(select(ReceptionSession).where(
        ReceptionSession.leader_id == booking.leader_id, ReceptionSession.id != booking.id,
        ReceptionSession.starts_at >= booking.starts_at, ReceptionSession.state.in_(JOINABLE))
        .order_by(ReceptionSession.starts_at, ReceptionSession.id).limit(1))


def matter_of(booking: ReceptionSession, *, db: Session) -> Matter | None:
    """The matter a session is about, if any."""
    return db.get(Matter, booking.matter_id) if booking.matter_id else None


def visible_plans(principal: Principal, *, db: Session) -> list[ReceptionPlan]:
    """Active plans of the leaders a coordinator covers, or the leader's own."""
    leader_ids = [p.id for p in leaders_in(principal, db=db)] if principal.paths_for(OFFICE) else []
    leader_ids.append(principal.person_id)
    theirs = select(PlanLeader.plan_id).where(PlanLeader.leader_id.in_(leader_ids))
    return list(db.scalars(select(ReceptionPlan).where(ReceptionPlan.id.in_(theirs), ReceptionPlan.active.is_(True))
                           .order_by(ReceptionPlan.node_id, ReceptionPlan.id)))


def publishing_offices(*, db: Session) -> list[Node]:
    """The offices with an active reception plan, by code."""
    ids = select(ReceptionPlan.node_id).where(ReceptionPlan.active.is_(True)).distinct()
    return list(db.scalars(select(Node).where(Node.id.in_(ids)).order_by(Node.code)))


@dataclass(frozen=True)
class PublishedDay:
    """One published reception window (五公开): when, where, who and for what."""

    occurrence: Occurrence
    leader: Person
    rooms: list[Room]

    @property
    def day(self) -> date:
        return self.occurrence.day


def published_days(office: Node, first: date, last: date, policy: Policy, *, db: Session) -> list[PublishedDay]:
    """The reception windows the office's active plans publish between FIRST and LAST."""
    found = occurrences(db=db, plans=plans_of_node(office.id, db=db), calendar=load_calendar(db=db), policy=policy,
                        first=first, last=last)
    people = people_by_id({o.leader_id for o in found}, db=db)
    rooms = rooms_by_id({pr.room_id for o in found for pr in o.plan.rooms}, db=db)
    return [PublishedDay(o, people[o.leader_id], [rooms[pr.room_id] for pr in o.plan.rooms]) for o in found]
