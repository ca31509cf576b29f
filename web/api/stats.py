"""The monthly figures (四率) per unit, with the counts behind each rate."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request

from vreception.auth.access import require_role, subtree_filter
from vreception.cases import rates
from vreception.errors import Invalid
from vreception.models import Matter, Node, Role
from web.deps import ApiPrincipal, DbSession

router = APIRouter(tags=["statistics"])
FIGURES = ("timely_acceptance", "on_time_completion", "participation", "satisfaction", "one_time_resolution")


@router.get("/stats/rates")
def monthly_rates(month: str, request: Request, principal: ApiPrincipal, session: DbSession) -> list[dict]:
    """Per handling unit in the caller's subtree, for MONTH (YYYY-MM)."""
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise Invalid("error.month_format", field="month")
    try:
        first = date(int(month[:4]), int(month[5:]), 1)
    except ValueError:
        raise Invalid("error.month_format", field="month") from None
    require_role(principal, (Role.coordinator, Role.leader))
    within = subtree_filter(principal, Matter.handling_path, (Role.coordinator, Role.leader))
    out = []
    for unit in rates.monthly(session, month=first, within=within,
                              rating_window_days=request.app.state.settings.rating_window_days):
        node = session.get(Node, unit.node_id)
        row = {"node_id": unit.node_id, "node_name": node.name, "month": month}
        for name in FIGURES:
            rate = getattr(unit, name)
            row[name] = {"rate": rate.value, "numerator": rate.numerator, "denominator": rate.denominator,
                         "counts": rate.counts}
        out.append(row)
    return out
