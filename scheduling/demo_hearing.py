"""The demo's hearing (信访听证): a public hearing on a matter the demo county accepted, proposed, decided, staffed and
booked through the same access rules and services as the API, its session soon enough to be walked through at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling import access as session_access
from scheduling import hearing_booking
from scheduling.join import opens_at
from scheduling.policy import Policy, cutoff_for, floor_to_quantum, local_day
from scheduling.rooms import open_intervals
from scheduling.states import JOINABLE
from vreception import clock, demo
from vreception.auth.access import principal_for
from vreception.cases import access as matter_access
from vreception.cases import actions
from vreception.hearings import access, panel, procedure
from vreception.models import Matter, Room
from vreception.models.hearings import Hearing, HearingState
from vreception.models.scheduling import ReceptionSession
from vreception.workdays import load_calendar

LENGTH = timedelta(hours=1)
# The session starts this long after the demo is set up: its call (open 30 minutes ahead) can be joined at once.
LEAD = timedelta(minutes=20)
HORIZON = timedelta(days=14)
# The matter came in this long before the hearing was asked for.
REGISTERED_BEFORE = timedelta(days=10)
REQUEST = "信访人对房屋面积测量和补偿标准的事实认定有异议，申请举行听证。"
WAIVER = "信访人书面同意缩短听证通知期限，请求尽快举行听证。"


@dataclass(frozen=True)
class DemoHearing:
    """What the demo prints about its hearing (times in the policy's zone)."""

    hearing_id: int
    session_id: int
    matter_id: int
    matter_number: str
    gallery_key: str
    starts_at: datetime
    ends_at: datetime
    opens_at: datetime
    room: str

    def lines(self, base_url: str) -> list[str]:
        """The hearing's time and place, who signs in as whom, and where to go, for the demo's output."""
        starts, ends, opens = self.starts_at, self.ends_at, self.opens_at
        members = ", ".join(demo.HEARING_MEMBERS)
        people = demo.HEARING_PEOPLE
        return [
            f"a public hearing (信访听证) on matter {self.matter_number}, {starts:%Y-%m-%d %H:%M}–{ends:%H:%M} in "
            f"{self.room} (its call opens {opens:%H:%M}):",
            f"  office   {people['office']:<16} the matter page {base_url}/matters/{self.matter_id} (request, "
            "decision, chair and panel, notices, booking)",
            f"  chair    {people['chair']:<16} agenda → the call {base_url}/calls/{self.session_id}",
            f"  recorder {people['recorder']:<16} the call: the 听证笔录 beside the video",
            f"  panel    {members} (/my-hearings: case file, opinion)",
            f"  kiosk    {people['room']:<16} kiosk → consent → the call → signing the 听证笔录",
            f"  gallery  (no sign-in)     {base_url}/gallery/{self.gallery_key}",
        ]


def current(*, db: Session, policy: Policy) -> DemoHearing | None:
    """The demo's public hearing still to be held (its session booked or running and not over), if any."""
    cast = demo.hearing_cast(db=db)
    if cast is None:
        return None
    hearing = db.scalars(
        select(Hearing)
        .join(ReceptionSession, ReceptionSession.id == Hearing.session_id)
        .where(
            Hearing.chair_id == cast.chair.id,
            Hearing.public.is_(True),
            Hearing.gallery_key.isnot(None),
            Hearing.state.in_((HearingState.noticed, HearingState.in_session)),
            ReceptionSession.state.in_(JOINABLE),
            ReceptionSession.ends_at > clock.now(),
        )
        .order_by(Hearing.id.desc())
    ).first()
    return _described(policy, hearing, cast.room, db=db) if hearing is not None else None


def seed(*, db: Session, policy: Policy, secret: str, decision_days: int) -> DemoHearing | None:
    """The demo's hearing: the current one, else a new one on a newly registered matter; None in a demo database
    loaded before the hearing's people were, or when the room is closed for the next two weeks."""
    found = current(db=db, policy=policy)
    cast = demo.hearing_cast(db=db)
    if found is not None or cast is None:
        return found
    real = clock.now()
    starts = next_slot(db=db, policy=policy, room=cast.room, after=real + LEAD)
    if starts is None:
        return None
    booked_at = booking_moment(db=db, policy=policy, starts=starts, now=real)
    office = principal_for(cast.office)
    with clock.running_from(booked_at - REGISTERED_BEFORE):
        matter = demo.register_sample(
            db=db, secret=secret, sample=demo.HEARING_MATTER, origin_code=f"{demo.COUNTY_CODE}002", actor_id=cast.office.id
        )
        params = {"reason": "演示：重新登记的听证示例事项，依法受理。"} if matter.possible_repeat else {}
        matter_access.require_action(office, matter, "accept", params, db=db)
        actions.act(
            db=db,
            matter=matter,
            action="accept",
            actor_id=office.person_id,
            params=params,
            moves_off_holidays=policy.deadline_moves_off_holidays,
        )
    with clock.running_from(booked_at):
        access.require_office(office, matter, db=db)
        hearing = procedure.propose(
            db=db,
            matter=matter,
            actor_id=office.person_id,
            by_petitioner=True,
            reason=REQUEST,
            decision_days=decision_days,
        )
        hearing = access.load_for_office(office, hearing.id, db=db)
        procedure.decide(db=db, hearing=hearing, hold=True, actor_id=office.person_id)
        procedure.set_publicity(db=db, hearing=hearing, public=True, closed_reason=None, actor_id=office.person_id)
        hearing_booking.appoint(
            db=db,
            policy=policy,
            hearing=hearing,
            chair_id=cast.chair.id,
            recorder_id=cast.recorder.id,
            actor_id=office.person_id,
        )
        hearing_booking.compose(
            db=db,
            policy=policy,
            hearing=hearing,
            actor_id=office.person_id,
            seats=[panel.Seat(m.id, chosen_by_petitioner=i == 0) for i, m in enumerate(cast.members)],
        )
        session_access.require_booker(office, db=db, leader_id=cast.chair.id, room_ids=[cast.room.id], matter_id=matter.id)
        petitioners = [link.petitioner.name for link in matter.petitioner_links]
        hearing_booking.book_hearing(
            db=db,
            policy=policy,
            hearing=hearing,
            room_ids=[cast.room.id],
            starts_at=starts,
            ends_at=starts + LENGTH,
            handler_ids=[cast.handler.id],
            petitioners=petitioners,
            notice_waived=True,
            waiver_note=WAIVER,
            actor_id=office.person_id,
        )
    return _described(policy, hearing, cast.room, db=db)


def next_slot(*, db: Session, policy: Policy, room: Room, after: datetime) -> datetime | None:
    """The first start on the quantum at or after AFTER from which ROOM is open for LENGTH, within HORIZON."""
    first = floor_to_quantum(policy, after)
    if first < after:
        first += policy.quantum
    hours = open_intervals(
        db=db,
        room_ids=[room.id],
        calendar=load_calendar(db=db),
        policy=policy,
        first=local_day(policy, first),
        last=local_day(policy, first + HORIZON),
    )[room.id]
    for opens, closes in hours:
        start = max(opens, first)
        if start + LENGTH <= closes:
            return start
    return None


def booking_moment(*, db: Session, policy: Policy, starts: datetime, now: datetime) -> datetime:
    """When the office books a session starting at STARTS: NOW, or, past the cut-off (bookings close the day
    before), an hour before it on a working day; the demo's clock then runs from that moment while the office acts,
    and the petitioner waives the notice period in writing."""
    moment = cutoff_for(policy, starts) - timedelta(hours=1)
    if now <= moment:
        return now
    calendar = load_calendar(db=db)
    while not calendar.is_workday(local_day(policy, moment)):
        moment -= timedelta(days=1)
    return moment


def _described(policy: Policy, hearing: Hearing, room: Room, *, db: Session) -> DemoHearing:
    assert hearing.session_id is not None and hearing.gallery_key is not None  # noticed, public
    booking = db.get_one(ReceptionSession, hearing.session_id)
    matter = db.get_one(Matter, hearing.matter_id)
    return DemoHearing(
        hearing_id=hearing.id,
        session_id=booking.id,
        matter_id=matter.id,
        matter_number=matter.number,
        gallery_key=hearing.gallery_key,
        starts_at=booking.starts_at.astimezone(policy.zone),
        ends_at=booking.ends_at.astimezone(policy.zone),
        opens_at=opens_at(policy, booking).astimezone(policy.zone),
        room=room.name,
    )
