"""Leaders' reception plans (固定接访日): coordinators enter, edit and withdraw them; leaders read their own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from scheduling import plans
from scheduling.lookup import load_leader
from vreception.auth.access import covers, require
from vreception.errors import Forbidden
from vreception.models import Node, Person, Role
from vreception.models.scheduling import PlanLeader, ReceptionPlan
from web.deps import DbSession
from web.pages import forms
from web.pages.booking import bookable_rooms
from web.pages.forms import attempt
from web.pages.matters import leaders_in
from web.pages.support import User, check_csrf, message, page, policy, require_any

router = APIRouter()
OFFICE = (Role.coordinator,)
KINDS = ("weekly", "monthly_day", "rotation")


def _visible_plans(session, principal) -> list[ReceptionPlan]:
    """Active plans of the leaders a coordinator covers, or the leader's own."""
    leader_ids = [p.id for p in leaders_in(session, principal)] if principal.paths_for(OFFICE) else []
    leader_ids.append(principal.person_id)
    mine = select(PlanLeader.plan_id).where(PlanLeader.leader_id.in_(leader_ids))
    return list(session.scalars(select(ReceptionPlan).where(ReceptionPlan.id.in_(mine), ReceptionPlan.active.is_(True))
                                .order_by(ReceptionPlan.node_id, ReceptionPlan.id)))


def _listing(request, session, principal, status_code=200, error=None, values=None, editing=None):
    found = _visible_plans(session, principal)
    people = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_({pl.leader_id for plan in found for pl in plan.leaders})))}
    office = bool(principal.paths_for(OFFICE))
    return page(request, "leader_plans.html", principal, status_code=status_code, error=error, plans=found,
                people=people, nodes={n.id: n for n in session.scalars(select(Node).where(
                    Node.id.in_({p.node_id for p in found})))},
                office=office, leaders=leaders_in(session, principal) if office else [],
                rooms=bookable_rooms(session, principal) if office else [], kinds=KINDS, values=values or {},
                editing=editing)


def _plan_values(plan: ReceptionPlan) -> dict:
    return {"leader_id": str(plan.leaders[0].leader_id), "kind": plan.kind.value,
            "weekday": "" if plan.weekday is None else str(plan.weekday),
            "day_of_month": str(plan.day_of_month or ""), "starts": plan.starts.strftime("%H:%M"),
            "ends": plan.ends.strftime("%H:%M"), "slot_minutes": str(plan.slot_minutes),
            "buffer_minutes": str(plan.buffer_minutes), "room_id": str(plan.rooms[0].room_id) if plan.rooms else "",
            "scope": plan.scope, "valid_from": plan.valid_from.isoformat(),
            "valid_until": plan.valid_until.isoformat() if plan.valid_until else ""}


def _create(request, session, principal, form) -> ReceptionPlan:
    leader = load_leader(session, forms.integer(form, "leader_id") or 0, "leader_ids")
    require(principal, leader.node, OFFICE)
    room_id = forms.integer(form, "room_id")
    return plans.create_plan(
        session, policy=policy(request), kind=forms.text(form, "kind", 20), leader_ids=[leader.id],
        day_of_month=forms.integer(form, "day_of_month"), weekday=forms.integer(form, "weekday"),
        starts=forms.clock_time(form, "starts"), ends=forms.clock_time(form, "ends"),
        slot_minutes=forms.integer(form, "slot_minutes") or 30, buffer_minutes=forms.integer(form, "buffer_minutes") or 0,
        room_ids=[room_id] if room_id else [], scope=forms.text(form, "scope", 2000),
        valid_from=forms.day(form, "valid_from") or _today(request), valid_until=forms.day(form, "valid_until"),
        actor_id=principal.person_id)


def _today(request):
    from web.pages.support import today

    return today(request)


def _managed_plan(session, principal, plan_id: int) -> ReceptionPlan:
    plan = plans.load_plan(session, plan_id)
    if not covers(principal, session.get(Node, plan.node_id), OFFICE):
        raise Forbidden()
    return plan


@router.get("/leader-plans")
def plan_list(request: Request, principal: User, session: DbSession):
    """The plans of the leaders in one's care (or one's own), with the form for a new one."""
    require_any(principal, Role.coordinator, Role.leader)
    return _listing(request, session, principal)


@router.post("/leader-plans")
async def plan_create(request: Request, principal: User, session: DbSession):
    """Publish a new reception plan."""
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token", 200))
    require_any(principal, *OFFICE)
    _, error = attempt(session, lambda: _create(request, session, principal, form))
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        return _listing(request, session, principal, status_code=error.status, error=message(request, error),
                        values={k: form.get(k) for k in form.keys()})
    return RedirectResponse("/leader-plans", status_code=303)


@router.get("/leader-plans/{plan_id}/edit")
def plan_edit(plan_id: int, request: Request, principal: User, session: DbSession):
    """The form filled with a plan, to replace it."""
    plan = _managed_plan(session, principal, plan_id)
    return _listing(request, session, principal, values=_plan_values(plan), editing=plan)


@router.post("/leader-plans/{plan_id}")
async def plan_replace(plan_id: int, request: Request, principal: User, session: DbSession):
    """Edit a plan: the old one is withdrawn and the new one published, together or not at all."""
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token", 200))
    plan = _managed_plan(session, principal, plan_id)

    def do():
        plans.withdraw_plan(session, plan=plan, actor_id=principal.person_id)
        return _create(request, session, principal, form)

    _, error = attempt(session, do)
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        session.refresh(plan)
        return _listing(request, session, principal, status_code=error.status, error=message(request, error),
                        values={k: form.get(k) for k in form.keys()}, editing=plan)
    return RedirectResponse("/leader-plans", status_code=303)


@router.post("/leader-plans/{plan_id}/withdraw")
async def plan_withdraw(plan_id: int, request: Request, principal: User, session: DbSession):
    """Stop publishing a plan; sessions already booked stay."""
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token", 200))
    plan = _managed_plan(session, principal, plan_id)
    plans.withdraw_plan(session, plan=plan, actor_id=principal.person_id)
    return RedirectResponse("/leader-plans", status_code=303)
