"""Leaders' reception plans (固定接访日): coordinators enter, edit and withdraw them; leaders read their own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from scheduling import plans, rules
from scheduling.lookup import load_leader
from scheduling.queries import visible_plans
from vreception.auth.access import covers, load_node, require
from vreception.cases import categories
from vreception.errors import Forbidden
from vreception.models import Role
from vreception.models.scheduling import ReceptionPlan
from vreception.org.queries import bookable_rooms, leaders_in, nodes_by_id, people_by_id
from web.deps import DbSession
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, message, page, policy, require_any, today

router = APIRouter()
OFFICE = (Role.coordinator,)
KINDS = ("weekly", "monthly_day", "rotation")


def _listing(request, principal, status_code=200, error=None, values=None, editing=None, *, db):
    found = visible_plans(principal, db=db)
    office = bool(principal.paths_for(OFFICE))
    return page(request, "leader_plans.html", principal, status_code=status_code, error=error, plans=found,
                people=people_by_id({pl.leader_id for plan in found for pl in plan.leaders}, db=db),
                nodes=nodes_by_id({p.node_id for p in found}, db=db),
                office=office, leaders=leaders_in(principal, db=db) if office else [],
                rooms=bookable_rooms(principal, db=db) if office else [], kinds=KINDS, values=values or {},
                categories=list(categories.load().values()) if office else [], editing=editing)


def _form_values(form) -> dict:
    """The submitted form, to show it again after an error (the chosen categories as a list)."""
    return {**{k: form.get(k) for k in form.keys()}, "scope_categories": form.getlist("scope_categories")}


def _plan_values(plan: ReceptionPlan) -> dict:
    chosen, note = rules.split_scope(plan.scope)
    return {"leader_id": str(plan.leaders[0].leader_id), "kind": plan.kind.value,
            "weekday": "" if plan.weekday is None else str(plan.weekday),
            "day_of_month": str(plan.day_of_month or ""), "starts": plan.starts.strftime("%H:%M"),
            "ends": plan.ends.strftime("%H:%M"), "slot_minutes": str(plan.slot_minutes),
            "buffer_minutes": str(plan.buffer_minutes), "room_id": str(plan.rooms[0].room_id) if plan.rooms else "",
            "scope": note, "scope_categories": chosen, "valid_from": plan.valid_from.isoformat(),
            "valid_until": plan.valid_until.isoformat() if plan.valid_until else ""}


def _create(request, principal, form, *, db) -> ReceptionPlan:
    leader = load_leader(forms.integer(form, "leader_id") or 0, "leader_ids", db=db)
    require(principal, leader.node, OFFICE)
    room_id = forms.integer(form, "room_id")
    return plans.create_plan(
        db=db, policy=policy(request), kind=forms.text(form, "kind", 20), leader_ids=[leader.id],
        day_of_month=forms.integer(form, "day_of_month"), weekday=forms.integer(form, "weekday"),
        starts=forms.clock_time(form, "starts"), ends=forms.clock_time(form, "ends"),
        slot_minutes=forms.integer(form, "slot_minutes") or 30,
        buffer_minutes=forms.integer(form, "buffer_minutes") or 0,
        room_ids=[room_id] if room_id else [], scope=forms.text(form, "scope", 2000),
        scope_categories=[code for code in forms.texts(form, "scope_categories", 32) if code],
        valid_from=forms.day(form, "valid_from") or today(request), valid_until=forms.day(form, "valid_until"),
        actor_id=principal.person_id)


def _managed_plan(principal, plan_id: int, *, db) -> ReceptionPlan:
    plan = plans.load_plan(plan_id, db=db)
    if not covers(principal, load_node(plan.node_id, db=db), OFFICE):
        raise Forbidden()
    return plan


@router.get("/leader-plans")
def plan_list(request: Request, principal: User, db: DbSession):
    """The plans of the leaders in one's care (or one's own), with the form for a new one."""
    require_any(principal, Role.coordinator, Role.leader)
    return _listing(request, principal, db=db)


@router.post("/leader-plans")
def plan_create(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Publish a new reception plan."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    require_any(principal, *OFFICE)
    _, error = attempt(lambda: _create(request, principal, form, db=db), db=db)
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        return _listing(request, principal, db=db, status_code=error.status, error=message(request, error),
                        values=_form_values(form))
    return RedirectResponse("/leader-plans", status_code=303)


@router.get("/leader-plans/{plan_id}/edit")
def plan_edit(plan_id: int, request: Request, principal: User, db: DbSession):
    """The form filled with a plan, to replace it."""
    plan = _managed_plan(principal, plan_id, db=db)
    return _listing(request, principal, db=db, values=_plan_values(plan), editing=plan)


@router.post("/leader-plans/{plan_id}")
def plan_replace(plan_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Edit a plan: the old one is withdrawn and the new one published, together or not at all."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    plan = _managed_plan(principal, plan_id, db=db)

    def do():
        plans.withdraw_plan(db=db, plan=plan, actor_id=principal.person_id)
        return _create(request, principal, form, db=db)

    _, error = attempt(do, db=db)
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        db.refresh(plan)
        return _listing(request, principal, db=db, status_code=error.status, error=message(request, error),
                        values=_form_values(form), editing=plan)
    return RedirectResponse("/leader-plans", status_code=303)


@router.post("/leader-plans/{plan_id}/withdraw")
def plan_withdraw(plan_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Stop publishing a plan; sessions already booked stay."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    plan = _managed_plan(principal, plan_id, db=db)
    plans.withdraw_plan(db=db, plan=plan, actor_id=principal.person_id)
    return RedirectResponse("/leader-plans", status_code=303)
