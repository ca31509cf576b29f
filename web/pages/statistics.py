"""Pages: statistics for the coordinator and the leader (统计): a range of months over a node, its child units
ranked, 12-month trend charts (inline SVG), the printable monthly bulletin (通报) and the exports (audited)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from scheduling import statistics_report as report
from vreception import audit, exports
from vreception.cases import categories
from vreception.cases import statistics as figures
from vreception.clock import now
from vreception.i18n import translate
from vreception.models import Node
from web.deps import DbSession, language
from web.pages.support import User, page, require_any, zone
from web.settings import app_settings
from web.templating import templates

router = APIRouter()
MonthParam = Annotated[str | None, Query(max_length=7)]
FromParam = Annotated[str | None, Query(alias="from", max_length=7)]
HEADLINE = ("on_time_completion", "timely_acceptance", "participation", "satisfaction")
COUNT_COLUMNS = (("registered", "statistics.col.registered"), ("overdue", "statistics.col.overdue"),
                 ("held", "statistics.col.held"), ("persons", "statistics.col.persons"))
TREND_LINES = (("on_time_completion", "#1f6feb"), ("satisfaction", "#d1242f"))
STYLESHEET = Path(__file__).parent.parent / "static" / "statistics.css"
# Chart geometry (SVG user units).
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 640, 220, 44, 16, 28


@dataclass
class Series:
    """One line of a chart: its name, colour, the points drawn and the polyline segments joining them."""

    name: str
    colour: str
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, label
    segments: list[str] = field(default_factory=list)


@dataclass
class Chart:
    """A chart's geometry for the template: axes labels, lines or bars."""

    title: str
    width: int = WIDTH
    height: int = HEIGHT
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_labels: list[tuple[float, str]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    bars: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # x, y, width, height, label


def _x(i: int, n: int) -> float:
    step = (WIDTH - LEFT - 12) / max(n, 1)
    return round(LEFT + step * (i + 0.5), 1)


def _y(share: float) -> float:
    return round(TOP + (1 - share) * (HEIGHT - TOP - BOTTOM), 1)


def rate_chart(trend: report.TrendOut, title: str, lang: str) -> Chart:
    """The rates of TREND_LINES month by month; a month with nothing counted breaks the line."""
    n = len(trend.points)
    chart = Chart(title, x_labels=[(_x(i, n), p.month[2:]) for i, p in enumerate(trend.points)],
                  y_labels=[(_y(v / 100), f"{v}%") for v in (0, 50, 100)])
    for figure, colour in TREND_LINES:
        line = Series(translate(f"pages.rate.{figure}", lang), colour)
        run: list[str] = []
        for i, point in enumerate(trend.points):
            value = point.figures[figure].rate
            if value is None:
                if len(run) > 1:
                    line.segments.append(" ".join(run))
                run = []
                continue
            x, y = _x(i, n), _y(value)
            line.points.append((x, y, f"{point.month} {line.name} {value:.1%}"))
            run.append(f"{x},{y}")
        if len(run) > 1:
            line.segments.append(" ".join(run))
        chart.series.append(line)
    return chart


def bar_chart(trend: report.TrendOut, title: str, lang: str) -> Chart:
    """Matters registered each month as bars."""
    n = len(trend.points)
    top = max([p.registered for p in trend.points] + [1])
    chart = Chart(title, x_labels=[(_x(i, n), p.month[2:]) for i, p in enumerate(trend.points)],
                  y_labels=[(_y(0), "0"), (_y(1), str(top))])
    width = round((WIDTH - LEFT - 12) / max(n, 1) * 0.6, 1)
    for i, point in enumerate(trend.points):
        y = _y(point.registered / top)
        chart.bars.append((round(_x(i, n) - width / 2, 1), y, width, round(_y(0) - y, 1),
                           translate("statistics.chart.bar_label", lang, month=point.month, n=point.registered)))
    return chart


def _query(**params: object) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _context(request: Request, principal, node_id: int | None, start: str | None, end: str | None, sort: str,
             *, db) -> dict:
    """The range, the node and the summary every statistics view reads."""
    require_any(principal, *report.READERS)
    months = figures.month_range(start, end)
    report.check_sort(sort)
    node = report.reader_node(principal, node_id, db=db)
    settings = app_settings(request)
    found = report.summary(db=db, node=node, months=months, sort=sort, rating_window_days=settings.rating_window_days)
    return {"node": node, "months": months, "summary": found, "sort": sort,
            "category_names": {c.code: c.name for c in categories.load(settings.categories_file or None).values()}}


@router.get("/statistics")
def statistics_page(request: Request, principal: User, db: DbSession, node_id: int | None = None,
                    start: FromParam = None, to: MonthParam = None, sort: str = "on_time_completion"):
    """The range's figures over the node, its children ranked, the 12-month trend up to the range's end."""
    context = _context(request, principal, node_id, start, to, sort, db=db)
    node, months, lang = context["node"], context["months"], language(request)
    trend = report.trend(db=db, node=node, last=months[-1], rating_window_days=app_settings(request).rating_window_days)
    base = {"node_id": node.id, "from": figures.label(months[0]), "to": figures.label(months[-1])}
    return page(request, "statistics.html", principal, **context, trend=trend,
                rate_chart=rate_chart(trend, translate("statistics.chart.rates", lang, node=node.name), lang),
                bar_chart=bar_chart(trend, translate("statistics.chart.registered", lang, node=node.name), lang),
                headline=HEADLINE, rates=report.RATES, count_columns=COUNT_COLUMNS, percent=_percent,
                sort_link=lambda by: "/statistics?" + _query(**base, sort=by),
                drill_link=lambda child_id: "/statistics?" + _query(**{**base, "node_id": child_id}, sort=sort),
                export_query=_query(**base, sort=sort), bulletin_query=_query(month=base["to"], node_id=node.id),
                trail=_trail(node, principal, db=db))


def _trail(node: Node, principal, *, db) -> list[Node]:
    """NODE and the ancestors the reader covers, top first (links back up)."""
    out = [node]
    while out[0].parent is not None and any(out[0].parent.path.startswith(p) for p in principal.paths_for(report.READERS)):
        out.insert(0, out[0].parent)
    return out


def _table(context: dict, lang: str, tz) -> tuple[str, list[str], list[list], str]:
    """The children's figures as a table (title, headers, rows, note), the node's total last."""
    found: report.SummaryOut = context["summary"]
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    headers = [t("statistics.col.rank"), t("statistics.col.unit")] + [t(f"pages.rate.{f}") for f in report.RATES] + [
        t("statistics.col.registered"), t("statistics.col.overdue"), t("statistics.col.held"),
        t("statistics.col.persons")]

    def row(rank, name, rates_of, registered, overdue, sessions) -> list:
        return [rank, name] + [_percent(rates_of[f].rate) for f in report.RATES] + [
            registered, overdue, sessions.held, sessions.persons]

    rows = [row(c.rank if c.rank is not None else "—", c.node_name, c.figures, c.registered, c.overdue, c.sessions)
            for c in found.children]
    rows.append(row("", t("statistics.total", node=found.node_name), found.figures, found.registered, found.overdue,
                    found.sessions))
    title = t("statistics.export.title", node=found.node_name)
    note = t("statistics.export.note", start=found.from_month, end=found.to_month,
             sort=t(_sort_key(found.sort)), at=now().astimezone(tz).strftime("%Y-%m-%d %H:%M"))
    return title, headers, rows, note


def _sort_key(sort: str) -> str:
    return f"pages.rate.{sort}" if sort in report.RATES else dict(COUNT_COLUMNS)[sort]


def _exported(principal, node: Node, what: str, months: list[date], *, db) -> None:
    audit.record(db=db, action="statistics.exported", entity_type="node", entity_id=node.id,
                 actor_id=principal.person_id,
                 data={"format": what, "from": figures.label(months[0]), "to": figures.label(months[-1])})


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


@router.get("/statistics/export.xlsx")
def export_xlsx(request: Request, principal: User, db: DbSession, node_id: int | None = None,
                start: FromParam = None, to: MonthParam = None, sort: str = "on_time_completion"):
    """The children's figures over the range as an Excel sheet (audited)."""
    context = _context(request, principal, node_id, start, to, sort, db=db)
    title, headers, rows, note = _table(context, language(request), zone(request))
    _exported(principal, context["node"], "xlsx", context["months"], db=db)
    name = f"statistics-{context['node'].id}-{figures.label(context['months'][0])}-{figures.label(context['months'][-1])}"
    return _download(exports.to_xlsx(title=title, headers=headers, rows=rows, note=note), exports.XLSX_TYPE,
                     name + ".xlsx")


@router.get("/statistics/export.pdf")
def export_pdf(request: Request, principal: User, db: DbSession, node_id: int | None = None,
               start: FromParam = None, to: MonthParam = None, sort: str = "on_time_completion"):
    """The children's figures over the range as a PDF table (audited)."""
    context = _context(request, principal, node_id, start, to, sort, db=db)
    title, headers, rows, note = _table(context, language(request), zone(request))
    _exported(principal, context["node"], "pdf", context["months"], db=db)
    name = f"statistics-{context['node'].id}-{figures.label(context['months'][0])}-{figures.label(context['months'][-1])}"
    return _download(exports.to_pdf(title=title, headers=headers, rows=rows, note=note), exports.PDF_TYPE,
                     name + ".pdf")


def _bulletin_context(request: Request, principal, node_id: int | None, month: str | None, *, db) -> dict:
    """The bulletin of MONTH; without one, of the month last ended (an office issues its bulletin after the month)."""
    issued = now().astimezone(zone(request)).date()
    month = month or figures.label(figures.shift(issued.replace(day=1), -1))
    context = _context(request, principal, node_id, month, month, "on_time_completion", db=db)
    first = context["months"][0]
    # A bulletin of a month still running says as of which day its figures are, not "at the end of the month".
    running = figures.shift(first, 1) > issued
    return {**context, "year": first.year, "month_number": first.month, "percent": _percent,
            "issued": f"{issued.year}年{issued.month}月{issued.day}日", "headline": HEADLINE, "rates": report.RATES,
            "as_of": f"{issued.month}月{issued.day}日" if running else None,
            "pdf_query": _query(month=figures.label(first), node_id=context["node"].id)}


@router.get("/statistics/bulletin")
def bulletin(request: Request, principal: User, db: DbSession, node_id: int | None = None,
             month: MonthParam = None):
    """The monthly bulletin (通报) of the node: headline figures, the child units ranked, units overdue; A4 print."""
    return page(request, "statistics_bulletin.html", principal,
                **_bulletin_context(request, principal, node_id, month, db=db), pdf=False)


@router.get("/statistics/bulletin.pdf")
def bulletin_pdf(request: Request, principal: User, db: DbSession, node_id: int | None = None,
                 month: MonthParam = None):
    """The monthly bulletin as a PDF (WeasyPrint on the same template; audited)."""
    from weasyprint import CSS, HTML

    context = _bulletin_context(request, principal, node_id, month, db=db)
    lang = language(request)
    html = templates.get_template("statistics_bulletin_body.html").render(
        **context, lang=lang, t=lambda key, **params: translate(key, lang, **params), pdf=True)
    document = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'></head><body class='bulletin-pdf'>"
                + html + "</body></html>")
    data: bytes = HTML(string=document).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
    _exported(principal, context["node"], "bulletin_pdf", context["months"], db=db)
    return _download(data, exports.PDF_TYPE, f"bulletin-{context['node'].id}-{figures.label(context['months'][0])}.pdf")
