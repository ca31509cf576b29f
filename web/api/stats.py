"""The monthly figures (四率 and the resolution figures) per unit, with the counts behind each, and the ranking."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from scheduling import statistics_report as report
from vreception.auth.access import load_node, require, require_role
from vreception.cases import monthly_figures, rates
from vreception.cases import statistics as figures
from vreception.errors import Invalid
from vreception.models import Role
from vreception.org.queries import nodes_by_id
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppSettings

router = APIRouter(tags=["statistics"])
FIGURES = rates.FIGURES
READERS = (Role.coordinator, Role.leader)
# The counting rules, shown in the API description (the same text as vreception.cases.rates).
RULES = ("Each case counts in exactly one month: deadline figures in the month the period is due; a rating in the "
         "month it was given, an unrated matter in the month its rating window ended; resolution figures in the month "
         "the review-request window ended; repeat petitions in the month of registration. on_time_completion counts the "
         "handling periods and the 交办 completion periods (a completion report sent back does not complete). "
         "An acceptance period ended "
         "by 转送/交办 counts in transfer_timeliness of the transferring office, not in the receiving body's "
         "timely_acceptance. Matters routed to legal channels are left out of every figure (legal_excluded).")


class RateOut(BaseModel):
    rate: float | None = Field(description="numerator / denominator, 4 decimals; null when nothing counted")
    numerator: int
    denominator: int
    counts: dict[str, int] = Field(description="the cases behind the rate by outcome (in_time, late, overdue …)")


class UnitRatesOut(BaseModel):
    node_id: int
    node_name: str
    month: str
    timely_acceptance: RateOut = Field(description="及时受理率 of the handling body (acceptance it decided itself)")
    on_time_completion: RateOut = Field(description="按期办结率 of the handling body: its handling periods, and the "
                                        "completion periods of matters assigned to it (交办); a report sent back "
                                        "does not complete")
    participation: RateOut = Field(description="参评率: rated ÷ (rated + window passed unrated)")
    satisfaction: RateOut = Field(description="满意率: (满意 + 基本满意) ÷ rated")
    one_time_resolution: RateOut = Field(description="一次性化解率: review window ended without a review request")
    transfer_timeliness: RateOut = Field(description="转送/交办 within the 15-day period, rated on the 信访部门")
    first_petition_resolution: RateOut = Field(
        description="初信初访化解率: first petitions with no review request and no repeat petition on them")
    repeat_petitions: RateOut = Field(description="repeat petitions (重复信访) among the matters registered")
    legal_excluded: int = Field(description="acceptance periods of matters routed to legal channels, left out")


class RankedOut(UnitRatesOut):
    rank: int | None = Field(description="place by the figure BY (1 = best, ties share); null when nothing counted")


def _month(month: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise Invalid("error.month_format", field="month")
    try:
        return date(int(month[:4]), int(month[5:]), 1)
    except ValueError:
        raise Invalid("error.month_format", field="month") from None


def _row(unit: rates.UnitRates, name: str, month: str) -> dict:
    row: dict = {"node_id": unit.node_id, "node_name": name, "month": month, "legal_excluded": unit.legal_excluded}
    for figure in FIGURES:
        rate = getattr(unit, figure)
        row[figure] = {"rate": rate.value, "numerator": rate.numerator, "denominator": rate.denominator,
                       "counts": rate.counts}
    return row


@router.get("/stats/rates", response_model=list[UnitRatesOut], description=RULES,
            responses=responses(403, 422, s403="forbidden: neither a coordinator nor a leader",
                                s422="invalid: MONTH is not YYYY-MM"))
def monthly_rates(month: str, principal: ApiPrincipal, db: DbSession, settings: AppSettings) -> list[dict]:
    """Per handling unit in the caller's subtree, for MONTH (YYYY-MM)."""
    first = _month(month)
    require_role(principal, READERS)
    units = monthly_figures.monthly(db=db, month=first, paths=principal.paths_for(READERS),
                                    rating_window_days=settings.rating_window_days)
    nodes = nodes_by_id({unit.node_id for unit in units}, db=db)
    return [_row(unit, nodes[unit.node_id].name, month) for unit in units]


@router.get("/stats/ranking", response_model=list[RankedOut], description=RULES,
            responses=responses(403, 404, 422, s403="forbidden: not a coordinator or leader over PARENT_ID",
                                s404="not found: no node PARENT_ID",
                                s422="invalid: MONTH is not YYYY-MM, or BY is not a figure"))
def monthly_ranking(month: str, parent_id: int, principal: ApiPrincipal, db: DbSession, settings: AppSettings,
                    by: str = "on_time_completion") -> list[dict]:
    """The units directly under PARENT_ID for MONTH, each summing its subtree, ranked by the figure BY."""
    first = _month(month)
    if by not in FIGURES:
        raise Invalid("error.figure_unknown", field="by")
    parent = load_node(parent_id, db=db)
    require(principal, parent, READERS)
    found = monthly_figures.monthly(db=db, month=first, paths=[parent.path], rating_window_days=settings.rating_window_days)
    ranked = rates.ranking(db=db, month=first, parent=parent, by=by, rating_window_days=settings.rating_window_days,
                           found=found)
    return [{**_row(r.rates, r.node.name, month), "rank": r.rank} for r in ranked]


MonthParam = Annotated[str | None, Query(max_length=7, description="YYYY-MM")]
SUMMARY_RULES = ("Over the months FROM–TO (YYYY-MM each, at most 24; either alone means that one month; none, this "
                 "month) in the subtree of NODE_ID (default: the caller's own top node). Rates sum the months' "
                 "numerators and denominators. " + RULES)


@router.get("/stats/summary", response_model=report.SummaryOut, description=SUMMARY_RULES,
            responses=responses(403, 404, 422, s403="forbidden: not a coordinator or leader over NODE_ID",
                                s404="not found: no node NODE_ID",
                                s422="invalid: a month is not YYYY-MM, TO precedes FROM, the range exceeds 24 "
                                     "months, or SORT is not a figure"))
def summary(principal: ApiPrincipal, db: DbSession, settings: AppSettings,
            start: Annotated[str | None, Query(alias="from", max_length=7, description="YYYY-MM")] = None,
            to: MonthParam = None, node_id: int | None = None, sort: str = "on_time_completion") -> report.SummaryOut:
    """Matter figures and video receptions over the range, with the node's child units ranked by SORT."""
    months = figures.month_range(start, to)
    report.check_sort(sort)
    node = report.reader_node(principal, node_id, db=db)
    return report.summary(db=db, node=node, months=months, sort=sort, rating_window_days=settings.rating_window_days)


@router.get("/stats/trend", response_model=report.TrendOut,
            responses=responses(403, 404, 422, s403="forbidden: not a coordinator or leader over NODE_ID",
                                s404="not found: no node NODE_ID",
                                s422="invalid: TO is not YYYY-MM, or MONTHS is outside 1–24"))
def trend(principal: ApiPrincipal, db: DbSession, settings: AppSettings, node_id: int | None = None,
          months: Annotated[int, Query(ge=1, le=figures.MAX_MONTHS)] = figures.TREND_MONTHS,
          to: MonthParam = None) -> report.TrendOut:
    """Each of the MONTHS months up to TO (default this month) in NODE_ID's subtree: rates, registered, held."""
    last = figures.month_range(None, to)[-1]
    node = report.reader_node(principal, node_id, db=db)
    return report.trend(db=db, node=node, last=last, count=months, rating_window_days=settings.rating_window_days)
