"""The monthly figures (四率) per unit, with the counts behind each rate."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vreception.auth.access import require_role, subtree_filter
from vreception.cases import rates
from vreception.errors import Invalid
from vreception.models import Matter, Role
from vreception.org.queries import nodes_by_id
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppSettings

router = APIRouter(tags=["statistics"])
FIGURES = ("timely_acceptance", "on_time_completion", "participation", "satisfaction", "one_time_resolution")


class RateOut(BaseModel):
    rate: float | None = Field(description="numerator / denominator, 4 decimals; null when nothing counted")
    numerator: int
    denominator: int
    counts: dict[str, int] = Field(description="the cases behind the rate by outcome (in_time, late, overdue …)")


class UnitRatesOut(BaseModel):
    node_id: int
    node_name: str
    month: str
    timely_acceptance: RateOut
    on_time_completion: RateOut
    participation: RateOut
    satisfaction: RateOut
    one_time_resolution: RateOut


@router.get("/stats/rates", response_model=list[UnitRatesOut],
            responses=responses(403, 422, s403="forbidden: neither a coordinator nor a leader",
                                s422="invalid: MONTH is not YYYY-MM"))
def monthly_rates(month: str, principal: ApiPrincipal, db: DbSession, settings: AppSettings) -> list[dict]:
    """Per handling unit in the caller's subtree, for MONTH (YYYY-MM)."""
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise Invalid("error.month_format", field="month")
    try:
        first = date(int(month[:4]), int(month[5:]), 1)
    except ValueError:
        raise Invalid("error.month_format", field="month") from None
    require_role(principal, (Role.coordinator, Role.leader))
    within = subtree_filter(principal, Matter.handling_path, (Role.coordinator, Role.leader))
    units = rates.monthly(db, month=first, within=within, rating_window_days=settings.rating_window_days)
    nodes = nodes_by_id(db, {unit.node_id for unit in units})
    out = []
    for unit in units:
        row = {"node_id": unit.node_id, "node_name": nodes[unit.node_id].name, "month": month}
        for name in FIGURES:
            rate = getattr(unit, name)
            row[name] = {"rate": rate.value, "numerator": rate.numerator, "denominator": rate.denominator,
                         "counts": rate.counts}
        out.append(row)
    return out
