"""Pages: the audit log, browsed by administrators and coordinators (their subtree), verified by administrators."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request

from vreception.audit import access, checkpoints, queries
from vreception.auth.access import Principal
from vreception.org.queries import office_nodes
from web.deps import DbSession
from web.pages import forms
from web.pages.support import User, check_csrf, page, zone

router = APIRouter()
PAGE_SIZE = 50


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) <= 9 else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None


def _audit_page(request: Request, principal: Principal, params: dict[str, str], result: checkpoints.Verification | None = None,
                *, db: DbSession) -> Any:
    """The filter form, one page of events and, after a verify, its outcome."""
    access.require_reader(principal)
    tz = zone(request)
    first, last = _day(params.get("from")), _day(params.get("to"))
    node_id = _number(params.get("node_id"))
    wanted = queries.EventFilter(
        who=params.get("who", "")[:100], action=params.get("action", "")[:64],
        object_type=params.get("object_type", "")[:32], object_id=params.get("object_id", "")[:64],
        start=datetime.combine(first, time.min, tzinfo=tz) if first else None,
        end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz) if last else None,
        node_id=node_id)
    found = queries.browse(db=db, principal=principal, wanted=wanted, limit=PAGE_SIZE,
                           cursor=params.get("cursor") or None)
    form = {"who": wanted.who, "action": wanted.action, "object_type": wanted.object_type,
            "object_id": wanted.object_id, "from": first.isoformat() if first else "",
            "to": last.isoformat() if last else "", "node_id": str(node_id or "")}
    return page(request, "admin_audit.html", principal, events=found.items, total=found.total,
                total_capped=found.total_capped, next_cursor=found.next, form=form, nodes=office_nodes(principal, db=db),
                may_verify=bool(principal.paths_for(())), result=result)


@router.get("/admin/audit")
def audit_log(request: Request, principal: User, db: DbSession):
    """Audit events by who, what, when and node subtree, newest first, a page at a time."""
    return _audit_page(request, principal, dict(request.query_params), db=db)


@router.post("/admin/audit/verify")
def verify_chain(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """校验审计链: verify from the newest signed checkpoint (or fully), then show the outcome above the log."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    access.require_verifier(principal)
    result = checkpoints.verify(db=db, full=forms.text(form, "full", 5) == "1", actor_id=principal.person_id)
    return _audit_page(request, principal, {}, result, db=db)
