"""The demo's reception plans and its month of history: matters taken through their real actions, sessions booked,
held, missed or cancelled, tasks, notices served and ratings, each step on the clock of its own past moment."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling import booking, claims, plans
from scheduling.policy import Policy, cutoff_for, local_day, local_moment
from scheduling.session_state import change_state
from vreception import clock, tasks
from vreception.cases import actions, public, register
from vreception.cases.identity import Protector, check_digit
from vreception.models import Document, Matter, MatterState, Node, Person, Role, RoleAssignment, Room
from vreception.models.scheduling import Claim, ReceptionPlan, SessionState
from vreception.workdays import WorkCalendar, load_calendar

DAYS = 30  # the history covers the DAYS before today
PER_COUNTY = 8
SLOT = timedelta(minutes=30)
HELD_FOR = timedelta(minutes=20)
MORNING, AFTERNOON = (time(9), time(11, 30)), (time(14, 30), time(17))
RATING_WINDOW_DAYS = 30  # settings.rating_window_days by default; the history rates a day after service
SEED = 580030

# Given names by gender: the ID number's 17th digit (odd: male, even: female) follows the name.
MALE = "伟强磊军洋勇杰涛明超平刚华建国志文斌海鹏飞宇晨浩振东立新"
FEMALE = "芳娜敏静丽艳娟秀霞桂英红玉兰燕春梅欣怡嘉慧琳婷"
BIRTH_YEARS = range(1950, 2000)
DEMANDS = [
    ("承包地被征收后安置补偿款至今未足额发放，请求督促依法兑现。", "land"),
    ("老旧小区改造工程停工半年，楼道脚手架未拆，请求尽快复工。", "housing"),
    ("在建筑工地务工两个月工资被拖欠，请求帮助追讨。", "wages"),
    ("企业未依法为本人缴纳养老保险，请求责令补缴。", "social_security"),
    ("村集体土地流转收益分配不公开，请求核查并公示。", "land"),
    ("安置房交付后墙体开裂渗水，开发商拒不维修。", "housing"),
    ("劳务派遣公司克扣加班工资，请求依法处理。", "wages"),
    ("失业保险金申领被拒，请求说明理由并重新审核。", "social_security"),
]

# What each demo matter goes through; the name is the state (or outcome) it is left in.
SCENARIOS = ["registered", "not_accepted", "transferred", "assigned", "completion_reported", "assigned_done",
             "accepted", "replied", "served_satisfied", "served_basically_satisfied", "served_unsatisfied",
             "served", "review_requested", "review_replied", "settled", "accepted_overdue_task"]
# The states the history leaves matters in (a test checks each is present).
CLAIMED_STATES = {MatterState.registered, MatterState.closed, MatterState.assigned, MatterState.completion_reported,
                  MatterState.accepted, MatterState.replied, MatterState.served, MatterState.review_requested,
                  MatterState.review_replied}
# The days each scenario needs after registration, before today.
NEEDS = {"registered": 1, "not_accepted": 2, "transferred": 2}


@dataclass
class County:
    """A demo county with the people and places its history uses."""

    node: Node
    office: Person
    handler: Person
    unit: Node
    leaders: list[Person]
    townships: list[tuple[Node, Room]]
    neighbour: Node | None = None
    used: dict[date, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Loaded:
    """What one run added: plans, matters and sessions (all zero on a database that has them)."""

    plans: int
    matters: int
    sessions: int


def id_number(county_code: str, birth: date, serial: int, male: bool) -> str:
    """A valid 18-digit ID number of the county: its 17th digit odd for a man, even for a woman."""
    order = serial * 2 + (1 if male else 0)
    first17 = f"{county_code}{birth:%Y%m%d}{order % 1000:03d}"
    return first17 + check_digit(first17)


def petitioner(rng: random.Random, index: int, county_code: str, phones: set[str]) -> dict[str, str]:
    """A petitioner whose name, gender digit and phone number agree; PHONES keeps every number distinct."""
    from vreception.demo import SURNAMES

    male = rng.random() < 0.5
    given = "".join(rng.choice(MALE if male else FEMALE) for _ in range(rng.choice((1, 2))))
    birth = date(rng.choice(BIRTH_YEARS), rng.randint(1, 12), rng.randint(1, 28))
    phone = ""
    while not phone or phone in phones:
        phone = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
    phones.add(phone)
    return {"name": rng.choice(SURNAMES) + given, "id_number": id_number(county_code, birth, index, male),
            "phone": phone}


def load_plans(*, db: Session, policy: Policy, today: date) -> int:
    """A reception plan (every working day, half a day in the region's video room) for each leader without one."""
    planned = set(db.scalars(select(ReceptionPlan.id)))
    with_plan = {pl.leader_id for plan in db.scalars(select(ReceptionPlan)) for pl in plan.leaders} if planned else set()
    assignments = db.scalars(select(RoleAssignment).where(RoleAssignment.role == Role.leader)
                             .order_by(RoleAssignment.person_id)).all()
    rooms = {r.node_id: r for r in db.scalars(select(Room).order_by(Room.id.desc()))}  # the region's first room
    made = 0
    for position, assignment in enumerate(assignments):
        if assignment.person_id in with_plan:
            continue
        room = rooms.get(assignment.node_id)
        starts, ends = MORNING if position % 2 == 0 else AFTERNOON
        plans.create_plan(db=db, policy=policy, kind="rotation", leader_ids=[assignment.person_id],
                          node_id=assignment.node_id, starts=starts, ends=ends, slot_minutes=30,
                          room_ids=[room.id] if room else None, valid_from=today - timedelta(days=DAYS + 10))
        with_plan.add(assignment.person_id)
        made += 1
    return made


def _counties(*, db: Session) -> list[County]:
    from vreception.demo import PROVINCE_CODE

    found = []
    province = db.scalar(select(Node).where(Node.code == PROVINCE_CODE))
    if province is None:
        return []
    counties = db.scalars(select(Node).where(Node.level == "county", Node.kind == "region",
                                             Node.path.startswith(province.path)).order_by(Node.code)).all()
    for node in counties:
        def holder(role: Role, where: Node) -> list[Person]:
            return list(db.scalars(select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                                   .where(RoleAssignment.role == role, RoleAssignment.node_id == where.id,
                                          RoleAssignment.room_id.is_(None)).order_by(Person.id)))

        unit = db.scalar(select(Node).where(Node.code == f"{node.code}-RSJ"))
        offices, leaders = holder(Role.coordinator, node), holder(Role.leader, node)
        handlers = list(db.scalars(select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                                   .where(RoleAssignment.role == Role.handler, Person.node_id == unit.id)
                                   .order_by(Person.id))) if unit else []
        townships = []
        for township in db.scalars(select(Node).where(Node.parent_id == node.id, Node.kind == "region")
                                   .order_by(Node.code)):
            room = db.scalar(select(Room).where(Room.node_id == township.id).order_by(Room.id))
            if room is not None:
                townships.append((township, room))
        # The walk-in's and the hearing's people keep their own agenda clear of the history.
        leaders = [p for p in leaders if p.username not in ("leader.county", "hearing.chair")]
        if unit and offices and handlers and leaders and townships:
            found.append(County(node, offices[0], handlers[0], unit, leaders, townships))
    for county in found:
        siblings = [c.node for c in found if c.node.parent_id == county.node.parent_id and c is not county]
        county.neighbour = siblings[0] if siblings else None
    return found


def is_loaded(*, db: Session, protector: Protector) -> bool:
    """Whether the history's first petitioner is on file (the history was loaded)."""
    from vreception.models import Petitioner

    counties = _counties(db=db)
    if not counties:
        return True  # not a demo province: nothing to add
    first = petitioner(random.Random(SEED), 1, counties[0].node.code, set())
    key = register.lookup_key(protector, "citizen", first["id_number"])
    return db.scalar(select(Petitioner.id).where(Petitioner.id_hash == key)) is not None


def load(*, db: Session, policy: Policy, secret: str) -> Loaded:
    """Plans for every leader and, once, a month of history across the demo's counties."""
    real = clock.now()
    today = local_day(policy, real)
    made_plans = load_plans(db=db, policy=policy, today=today)
    protector = Protector(secret)
    if is_loaded(db=db, protector=protector):
        return Loaded(made_plans, 0, 0)
    history = _History(policy, protector, load_calendar(db=db), today, db=db)
    index = 0
    for county in _counties(db=db):
        for _ in range(PER_COUNTY):
            index += 1
            history.matter(county, index, SCENARIOS[(index - 1) % len(SCENARIOS)])
    return Loaded(made_plans, history.matters, history.sessions)


class _History:
    """One run's generator: a seeded random source, the distinct phones, and counts."""

    def __init__(self, policy: Policy, protector: Protector, calendar: WorkCalendar, today: date, *, db: Session):
        self.db, self.policy, self.protector, self.calendar, self.today = db, policy, protector, calendar, today
        self.rng = random.Random(SEED)
        self.phones: set[str] = set()
        self.matters = self.sessions = 0

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local_moment(self.policy, day, time(hour, minute))

    def workday(self, day: date) -> date:
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return day

    def act(self, moment: datetime, matter: Matter, action: str, actor: Person, **params: Any) -> None:
        with clock.running_from(moment):
            actions.act(db=self.db, matter=matter, action=action, actor_id=actor.id, params=params,
                        moves_off_holidays=self.policy.deadline_moves_off_holidays)

    def matter(self, county: County, index: int, scenario: str) -> None:
        rng = self.rng
        person = petitioner(rng, index, county.node.code, self.phones)  # drawn first: is_loaded redraws the first
        township, room = county.townships[index % len(county.townships)]
        need = NEEDS.get(scenario, 9 if scenario.startswith(("accepted", "assigned", "completion")) else 16)
        back = rng.randint(need, DAYS) if scenario != "registered" else rng.randint(1, 6)
        day = self.workday(self.today - timedelta(days=back))
        if day >= self.today:
            day = self.today - timedelta(days=back)
        summary, category = DEMANDS[index % len(DEMANDS)]
        with clock.running_from(self.at(day, 9, rng.randint(0, 50))):
            matter, _, _ = register.register(
                db=self.db, protector=self.protector, petitioners=[person], channel=rng.choice(("video", "visit")),
                demands=[{"summary": summary, "category": category}], origin_node_id=township.id,
                handling_node_id=county.node.id, actor_id=county.office.id,
                moves_off_holidays=self.policy.deadline_moves_off_holidays)
        self.matters += 1
        if scenario == "registered":
            if index % 2:
                self.session(county, matter, room, day, index, outcome="cancelled")
            return
        if scenario == "not_accepted":
            self.act(self.at(day, 15), matter, "not_accept", county.office,
                     reason="所反映诉求已通过诉讼途径处理，依法不予受理。")
            return
        if scenario == "transferred":
            if county.neighbour is not None:
                self.act(self.at(day, 15), matter, "transfer", county.office, to_node_id=county.neighbour.id,
                         reason="事项发生地属邻区（县）管辖，依法转送。")
            return
        held = self.session(county, matter, room, day, index, outcome="no_show" if index % 7 == 0 else "ended")
        decided = self.workday(held + timedelta(days=1))
        if decided + timedelta(days=6 if scenario.startswith(("accepted", "assigned", "completion")) else 11) >= self.today:
            return  # its session is too recent (or still to come) for the rest to have happened
        office, handler = county.office, county.handler
        if scenario in ("assigned", "completion_reported", "assigned_done"):
            self.act(self.at(decided, 10), matter, "assign", office, to_node_id=county.unit.id, days=15,
                     reason="请依法核查处理并按期报送办结报告。")
            if scenario == "assigned":
                return
            self.act(self.at(decided + timedelta(days=3), 16), matter, "report_completion", handler,
                     reason="已核查，责令用人单位于十日内足额支付，并书面答复信访人。")
            if scenario == "assigned_done":
                self.act(self.at(decided + timedelta(days=5), 10), matter, "verify_completion", office,
                         reason="经核实，办理结果属实。")
            return
        self.act(self.at(decided, 10), matter, "accept", office)
        notice = self.db.scalars(select(Document).where(Document.matter_id == matter.id,
                                                         Document.kind == "acceptance_notice")).first()
        if notice is not None:
            self.act(self.at(decided, 11), matter, "serve_notice", office, document_id=notice.id, method="direct")
        self.task(county, matter, decided, done=scenario not in ("accepted", "accepted_overdue_task"),
                  due_days=3 if scenario == "accepted_overdue_task" else 20)
        if scenario == "settled":
            self.act(self.at(decided + timedelta(days=3), 15), matter, "settle", office, kind="mediation",
                     reason="经人民调解，双方就补偿数额达成一致，用人单位当场支付。")
            return
        if scenario.startswith("accepted"):
            return
        outcome = rng.choice(("support", "explain", "not_support"))
        self.act(self.at(decided + timedelta(days=4), 15), matter, "reply", office, outcome=outcome,
                 reason="经调查核实，依据有关规定作出处理意见。", facts="经调阅材料、走访核实，情况基本属实。",
                 basis="《信访工作条例》第三十二条")
        if scenario == "replied":
            return
        served = decided + timedelta(days=5)
        self.act(self.at(served, 10), matter, "serve", office, method="direct")
        if scenario.startswith("served_"):
            with clock.running_from(self.at(served + timedelta(days=1), 20)):
                public.rate(db=self.db, matter=matter, rating=scenario.removeprefix("served_"),
                            window_days=RATING_WINDOW_DAYS)
        if scenario.startswith("served"):
            return
        self.act(self.at(served + timedelta(days=2), 9), matter, "request_review", office)
        if scenario == "review_replied":
            above = self.db.get_one(Node, county.node.parent_id)
            reviewer = self.db.scalar(select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                                      .where(RoleAssignment.role == Role.coordinator,
                                             RoleAssignment.node_id == above.id).order_by(Person.id)) or office
            self.act(self.at(served + timedelta(days=5), 16), matter, "review_reply", reviewer, outcome="explain",
                     reason="原处理意见认定事实清楚，维持原处理意见并作解释说明。")

    def session(self, county: County, matter: Matter, room: Room, registered: date, index: int, *,
                outcome: str) -> date:
        """A session on MATTER booked on the day it came in, on the county's next free slot; returns its day."""
        leader = county.leaders[index % len(county.leaders)]
        plan = next(p for p in plans.plans_of_leader(leader.id, db=self.db) if p.active)
        booked_at = self.at(registered, 10, 30)
        day = self.workday(registered + timedelta(days=1))
        name = matter.petitioner_links[0].petitioner.name
        while True:
            slots = int((datetime.combine(day, plan.ends) - datetime.combine(day, plan.starts)) / SLOT)
            start = self.at(day, plan.starts.hour, plan.starts.minute) + SLOT * county.used[day]
            if county.used[day] >= slots or cutoff_for(self.policy, start) < booked_at:
                day = self.workday(day + timedelta(days=1))
                continue
            county.used[day] += 1
            # Today's slots may already be held (the walk-in books the room from now on): take the next free one.
            held = select(Claim.slot).where(Claim.resource.in_((claims.leader_key(leader.id), claims.room_key(room.id))),
                                            Claim.slot >= start, Claim.slot < start + SLOT)
            if self.db.scalar(held.limit(1)) is None:
                break
        with clock.running_from(booked_at):
            made = booking.book(db=self.db, policy=self.policy, kind="reception", leader_id=leader.id,
                                room_ids=[room.id], matter_id=matter.id, starts_at=start, ends_at=start + SLOT,
                                participants=[booking.ParticipantSpec("petitioner", None, name)], coordinator=True,
                                actor_id=county.office.id)
        self.sessions += 1
        if outcome == "cancelled":
            with clock.running_from(booked_at + timedelta(hours=2)):
                booking.cancel(db=self.db, booking=made, reason="信访人来电申请改期。", actor_id=county.office.id)
            return day
        if start + SLOT > clock.now():
            return day  # still to come: the history leaves it booked
        if outcome == "no_show":
            with clock.running_from(start + SLOT):
                change_state(db=self.db, booking=made, to=SessionState.no_show, at=start + SLOT, policy=self.policy,
                             actor_id=county.office.id, reason="信访人未到场。")
            return day
        for state, after in ((SessionState.open, timedelta(minutes=-5)), (SessionState.live, timedelta(minutes=1)),
                             (SessionState.ended, HELD_FOR)):
            with clock.running_from(start + after):
                change_state(db=self.db, booking=made, to=state, at=start + after, policy=self.policy)
        return day

    def task(self, county: County, matter: Matter, day: date, *, done: bool, due_days: int) -> None:
        with clock.running_from(self.at(day, 11, 30)):
            task = tasks.create(db=self.db, matter=matter, unit_node_id=county.unit.id,
                                title="核查信访人反映的情况并提出处理建议", due_at=self.at(day + timedelta(days=due_days), 17),
                                actor_id=county.office.id)
        if not done:
            return
        for offset, action, actor, text in ((1, "accept", county.handler, ""), (1, "start", county.handler, ""),
                                            (2, "report", county.handler, "已走访核实，情况属实，建议支持合理诉求。"),
                                            (3, "verify", county.office, ""), (3, "close", county.office, "")):
            with clock.running_from(self.at(day + timedelta(days=offset), 15)):
                tasks.move(db=self.db, task=task, action=action, actor_id=actor.id, text=text)
