"""The monthly figures over months (issue 16): ended months read from their materialised counts, the current month
from the stored counts of its finished days and a live count of the rest.

A month that has ended is counted once for every handling node (rates.counted, grouped by handling node and rated
unit) into monthly_figures and then read with one grouped query over the reader's subtree. Its unrated part (rating
windows that ended unrated) depends on the moment until the month's last window has ended, so until then that part
is counted live beside the stored rest; the month is counted again in full once it is closed. The month-end job
(store_ended, vreception.jobs.month_end_figures) does both shortly after; a read does whatever it has not done yet.

A late event (a deadline met or moved, a rating, a transfer, a repeat link …) on a matter of an ended month marks
that month and the matter's handling node stale (stale_figures, by the flush hook in vreception.models.figures); the
next run of the job, or the next read, counts those nodes of that month again.

The current month's finished days are stored alike (figure_months.through, the last of them), advanced by a count of
the days that ended since (each case counts on one day, so the counts add up), and marked stale alike by a late event
on one of them; a read counts live only the days from today to the month's end. Its first day, and a read at a moment
before what is stored, count the whole month live.

What a reader counts live (the current month's rest, and the unrated part of a month not closed yet) reads, for a province,
tens of thousands of deadlines and matters: a read of now keeps it in this process for LIVE_SECONDS, shared by every
page that shows the same subtree's month (dashboard, statistics, trend), until this process changes a matter (a
change made by another process shows within LIVE_SECONDS); a read at a given moment (AT) counts it. Once kept longer
than LIVE_SECONDS (and less than STALE_SECONDS more), the live count is still served to one read while a thread
counts it again (so another process's change may take up to LIVE_SECONDS + STALE_SECONDS to show): early in a month
a province's rest of the month is 1.5-2 s to count at 1M matters, which no reader should wait for once a minute. The stored months'
rows a read of now sums (a province's year is some 70,000) are kept alike, until this process counts a month again.
"""

from __future__ import annotations

import logging
import threading
import time as clock
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import ColumnElement, and_, delete, event, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from vreception.cases import rates
from vreception.cases.access import broad
from vreception.cases.deadlines import end_of_day, local_day
from vreception.clock import now
from vreception.db import one_writer
from vreception.models import Deadline, Demand, Matter, MatterEvent, Node, RepeatLink
from vreception.models.figures import FigureMonth, MonthlyFigure, StaleFigure, mark_stale, use_local_day

use_local_day(local_day)  # the stale marks of the current month's finished days need the deadlines' calendar
logger = logging.getLogger(__name__)
UNRATED = ("participation", "unrated")
LOCK_KEY = 0x16F16  # the advisory lock of the writers of stored months (PostgreSQL)
LIVE_SECONDS = 60.0  # how old a broad subtree's live count may be when read again
STALE_SECONDS = 60.0  # past LIVE_SECONDS, how long a live count may still be served while a thread counts it again
LIVE_ENTRIES = 64
_live: dict[tuple[Any, ...], _Kept] = {}
T = TypeVar("T")
_live_lock = threading.Lock()


def first_of(month: date) -> date:
    return month.replace(day=1)


def ended(month: date, today: date) -> bool:
    """MONTH's last day is before TODAY: everything but its unrated part is settled (until a late event)."""
    return rates.month_bounds(month)[1] < today


def closed(month: date, moment: datetime, rating_window_days: int) -> bool:
    """MONTH's last rating window has ended too: nothing in it moves with the clock any more."""
    return moment >= end_of_day(rates.month_bounds(month)[1]) + timedelta(days=rating_window_days)


def _store(found: Iterable[rates.Counted], month: date, window: int, *, db: Session) -> None:
    rows = [{"window_days": window, "month": month, "handling_node_id": c.handling_node_id, "unit_id": c.unit_id,
             "figure": c.figure, "outcome": c.outcome, "n": c.n, "good": c.good, "counted": c.counted}
            for c in _summed(found)]
    for start in range(0, len(rows), 1000):
        db.execute(insert(MonthlyFigure), rows[start:start + 1000])


def _summed(found: Iterable[rates.Counted]) -> list[rates.Counted]:
    """Cases of the same key added up (two grouped queries may name one key)."""
    out: dict[tuple[int, int, str, str], list[int]] = {}
    for c in found:
        entry = out.setdefault((c.handling_node_id, c.unit_id, c.figure, c.outcome), [0, 0, 0])
        entry[0] += c.n
        entry[1] += c.good
        entry[2] += c.counted
    return [rates.Counted(*key, *values) for key, values in out.items()]


def _state(months: Sequence[date], window: int, *, db: Session
           ) -> tuple[dict[date, FigureMonth], dict[date, list[tuple[int, datetime]]]]:
    stored = {row.month: row for row in db.scalars(select(FigureMonth).where(
        FigureMonth.window_days == window, FigureMonth.month.in_(months)).execution_options(populate_existing=True))}
    marks: dict[date, list[tuple[int, datetime]]] = {}
    for month, node_id, marked in db.execute(select(StaleFigure.month, StaleFigure.handling_node_id,
                                                    StaleFigure.marked_at).where(StaleFigure.month.in_(months))):
        marks.setdefault(month, []).append((node_id, marked))
    return stored, marks


def _due(month: date, stored: dict[date, FigureMonth], marks: dict[date, Any], window: int, moment: datetime) -> bool:
    existing = stored.get(month)
    return (existing is None or existing.through is not None or (closed(month, moment, window) and not existing.complete)
            or month in marks)


def _ensure(months: Sequence[date], window: int, moment: datetime, *, db: Session) -> tuple[dict[date, bool], int]:
    """Store each of the ended MONTHS not stored yet (or stored before it closed and closed now), count again the
    nodes marked stale; returns whether each month's unrated part is stored too, and how many months were counted.
    Two queries when nothing changed."""
    stored, marks = _state(months, window, db=db)
    if not any(_due(month, stored, marks, window, moment) for month in months):
        return {month: row.complete for month, row in stored.items()}, 0
    # One writer at a time (a reader storing a month, the month-end job, another process): the others wait, then
    # find the month stored instead of inserting its rows a second time.
    if one_writer(LOCK_KEY, db=db):
        stored, marks = _state(months, window, db=db)
    counted_months = 0
    for month in months:
        existing, complete = stored.get(month), closed(month, moment, window)
        # A month stored in part while it ran (its finished days) is counted whole once it has ended.
        if existing is None or existing.through is not None or (complete and not existing.complete):
            stored[month] = _materialise(month, window, moment, existing, complete, db=db)
            counted_months += 1
        elif month in marks:
            _refresh(month, moment, marks[month], db=db)
            counted_months += 1
    if counted_months and db.get_bind().dialect.name == "postgresql":
        # The planner's statistics of the stored rows: without them a province's read of its months was planned for
        # a handful of rows (a node lookup per row) until autovacuum came round.
        db.execute(text("ANALYZE monthly_figures"))
    return {month: row.complete for month, row in stored.items()}, counted_months


def store_ended(*, db: Session, at: datetime, rating_window_days: int = 30) -> int:
    """The month-end job: the months ended lately (the one just ended, and those whose rating windows close now)
    counted for every unit and stored, and every stored month a late event marked stale counted again, so that the
    reads find them ready; returns how many months were counted (0 when nothing changed)."""
    today = local_day(at)
    # A month closes RATING_WINDOW_DAYS after its end: from then back, every month is ensured until it has closed.
    earliest = first_of(today - timedelta(days=rating_window_days + 31))
    months, month = [], earliest
    while month < first_of(today):
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    marked = (select(StaleFigure.month).distinct()
              .join(FigureMonth, (FigureMonth.month == StaleFigure.month)
                    & (FigureMonth.window_days == rating_window_days)))
    months += [m for m in db.scalars(marked) if m not in months and ended(m, today)]
    counted_months = _ensure(sorted(months), rating_window_days, at, db=db)[1] if months else 0
    return counted_months + _to_date(first_of(today), rating_window_days, at, db=db)[1]


class ToDate(NamedTuple):
    """What _to_date found and did."""

    last: date | None  # the last day stored (None: nothing stored serves the moment)
    counted: int  # 1 when anything was counted
    nodes: set[int] | None  # the handling nodes counted again when nothing else was (None: more than they)
    rest: list[rates.Counted]  # of those nodes, the cases of the days after LAST, counted in the same pass


def _to_date(month: date, window: int, moment: datetime, *, db: Session) -> ToDate:
    """MONTH, not ended at MOMENT, stored through its last finished day (the days ended since the last count counted
    and added, the nodes marked stale counted again); the last day stored, None when nothing stored serves MOMENT
    (the month's first day, or a read at a moment before what is stored), 1 when anything was counted, else 0, and
    the handling nodes counted again when nothing else was (None: more than they)."""
    target = min(local_day(moment) - timedelta(days=1), rates.month_bounds(month)[1])
    if target < first_of(month):
        return ToDate(None, 0, set(), [])
    # One statement when nothing is to be done: the stored days and whether a late event marked any.
    marked = select(StaleFigure.month).where(StaleFigure.month == month).exists()
    found = db.execute(select(FigureMonth.through, marked).where(FigureMonth.window_days == window,
                                                                 FigureMonth.month == month)).first()
    if found is not None and (found[0] is None or found[0] > target):
        return ToDate(None, 0, set(), [])  # a whole month, or more days than have ended at MOMENT
    if found is not None and found[0] == target and not found[1]:
        return ToDate(target, 0, set(), [])
    for attempt in range(2):
        stored, marks = _state([month], window, db=db)
        row = stored.get(month)
        if row is not None and (row.through is None or row.through > target):
            return ToDate(None, 0, set(), [])
        if row is not None and row.through == target and month not in marks:
            return ToDate(target, 0, set(), [])
        # One writer at a time, as for the ended months; the others find the days stored when they get the lock.
        if attempt == 0 and one_writer(LOCK_KEY, db=db):
            continue
        break
    if row is None:
        row = _materialise(month, window, moment, None, False, db=db, through=target)
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("ANALYZE monthly_figures"))
        return ToDate(target, 1, None, [])
    nodes: set[int] | None = set()
    if row.through is not None and row.through < target:
        nodes = None
        _add(rates.counted(db=db, month=month, rating_window_days=window, at=moment, by_key=True,
                           days=(row.through + timedelta(days=1), target)), month, window, db=db)
        row.through, row.computed_at = target, moment
        db.flush()
    rest: list[rates.Counted] = []
    if month in marks:
        rest = _refresh(month, moment, marks[month], db=db).get((window, target), [])
        nodes = None if nodes is None else {node_id for node_id, _ in marks[month]}
    return ToDate(target, 1, nodes, rest)


def _add(found: Iterable[rates.Counted], month: date, window: int, *, db: Session) -> None:
    """FOUND added to MONTH's stored counts (a row per key, inserted or summed)."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    rows = [{"window_days": window, "month": month, "handling_node_id": c.handling_node_id, "unit_id": c.unit_id,
             "figure": c.figure, "outcome": c.outcome, "n": c.n, "good": c.good, "counted": c.counted}
            for c in _summed(found)]
    statement = upsert(MonthlyFigure)
    statement = statement.on_conflict_do_update(
        index_elements=["window_days", "month", "handling_node_id", "unit_id", "figure", "outcome"],
        set_={name: getattr(MonthlyFigure, name) + getattr(statement.excluded, name) for name in ("n", "good", "counted")})
    for start in range(0, len(rows), 1000):
        db.execute(statement, rows[start:start + 1000])


def _days(month: date, through: date | None) -> tuple[date, date] | None:
    """The days of MONTH stored: to THROUGH, or all of them (None)."""
    return None if through is None else (first_of(month), through)


def _materialise(month: date, window: int, moment: datetime, existing: FigureMonth | None, complete: bool,
                 *, db: Session, through: date | None = None) -> FigureMonth:
    """Count MONTH for every node: its settled part, and its unrated part once the month is closed; THROUGH: only its
    days to that one, the current month's finished days (their unrated part is settled too)."""
    db.execute(delete(MonthlyFigure).where(MonthlyFigure.window_days == window, MonthlyFigure.month == month))
    _store(rates.counted(db=db, month=month, rating_window_days=window, at=moment,
                         unrated=complete or through is not None, by_key=True, days=_days(month, through)),
           month, window, db=db)
    if existing is None:
        existing = FigureMonth(window_days=window, month=month, computed_at=moment, complete=complete, through=through)
        db.add(existing)
    else:
        existing.computed_at, existing.complete, existing.through = moment, complete, through
    # Marks up to this count are answered by it, unless another rating window of the month is stored as well.
    db.execute(delete(StaleFigure).where(StaleFigure.month == month, StaleFigure.marked_at <= moment,
                                         ~_other_windows(month, window)))
    db.flush()
    return existing


def _other_windows(month: date, window: int) -> ColumnElement[bool]:
    """Another rating window of MONTH is stored too: its stale marks stay until it is counted again as well."""
    return select(FigureMonth.month).where(FigureMonth.month == month, FigureMonth.window_days != window).exists()


def _refresh(month: date, moment: datetime, marks: list[tuple[int, datetime]], *, db: Session
             ) -> dict[tuple[int, date], list[rates.Counted]]:
    """Count again the nodes of MONTH marked stale (one grouped count for all of them, per stored window); of a month
    stored in part, the count runs over the whole month and returns the rest, by (window, last day stored)."""
    nodes = sorted({node_id for node_id, _ in marks})
    newest = max(marked for _, marked in marks)
    rest: dict[tuple[int, date], list[rates.Counted]] = {}
    for stored_window, stored_complete, through in db.execute(
            select(FigureMonth.window_days, FigureMonth.complete, FigureMonth.through)
            .where(FigureMonth.month == month)).all():
        db.execute(delete(MonthlyFigure).where(MonthlyFigure.window_days == stored_window,
                                               MonthlyFigure.month == month,
                                               MonthlyFigure.handling_node_id.in_(nodes)))
        if through is not None:
            # The days stored and the rest in one pass over these nodes' matters: a read counts the rest anyway.
            found, rest[(stored_window, through)] = rates.counted_split(
                db=db, month=month, split=through, within=Matter.handling_node_id.in_(nodes),
                rating_window_days=stored_window, at=moment)
        else:
            found = rates.counted(db=db, month=month, within=Matter.handling_node_id.in_(nodes),
                                  rating_window_days=stored_window, at=moment, unrated=stored_complete)
        _store(found, month, stored_window, db=db)
    db.execute(delete(StaleFigure).where(StaleFigure.month == month, StaleFigure.handling_node_id.in_(nodes),
                                         StaleFigure.marked_at <= newest))
    db.flush()
    return rest


def _subtree(paths: Sequence[str]) -> ColumnElement[bool]:
    return or_(*[Node.path.startswith(p, autoescape=True) for p in paths]) if paths else Node.id.is_(None)


@dataclass
class _Kept:
    """A count kept by recent(): until EXPIRES; PART recounts the rows of some handling nodes only (their node at
    index AT of each row), so that a change of a few matters recounts their nodes, not the whole subtree."""

    expires: float
    value: Any
    part: Callable[[Session, set[int]], Iterable[Any]] | None = None
    at: int = 0
    changed: set[int] = field(default_factory=set)
    refreshing: bool = False  # a thread is counting it again (recent's AGAIN)


def recent(key: tuple[Any, ...], count: Callable[[], T], *, db: Session,
           part: Callable[[Session, set[int]], Iterable[Any]] | None = None, at: int = 0,
           again: Callable[[Session], T] | None = None) -> T:
    """What COUNT returned for KEY on DB's database in this process less than LIVE_SECONDS ago, else COUNT() kept.
    PART (a COUNT whose rows are a list grouped by handling node, the node at index AT): after this process changed
    matters of some nodes, their rows counted again by PART(db, nodes) and put in place of theirs. AGAIN (COUNT in a
    session of its own): a count older than LIVE_SECONDS by less than STALE_SECONDS is served while a thread counts it
    again with AGAIN."""
    full = _full_key(key, db=db)
    started = clock.monotonic()
    with _live_lock:
        hit = _live.get(full)
        changed = set(hit.changed) if hit is not None else set()
    fresh = hit is not None and hit.expires > started
    if hit is not None and not fresh and again is not None and hit.expires + STALE_SECONDS > started:
        _count_again(full, hit, again, part, at, db=db)
        fresh = True
    if hit is not None and fresh and not changed:
        return cast(T, hit.value)
    if hit is not None and fresh and hit.part is not None and part is not None:
        # This call's PART: it may know some of the nodes' rows already (counted with their stored days).
        value = [row for row in hit.value if row[hit.at] not in changed] + list(part(db, changed))
        with _live_lock:
            if _live.get(full) is hit:
                hit.value = value
                hit.changed -= changed
        return cast(T, value)
    found = count()
    _keep(full, found, started, part, at)
    return found


def _count_again(full: tuple[Any, ...], hit: _Kept, again: Callable[[Session], Any],
                 part: Callable[[Session, set[int]], Iterable[Any]] | None, at: int, *, db: Session) -> None:
    """Count HIT again in a thread with a session of its own (one at a time), kept in its place when done."""
    with _live_lock:
        if hit.refreshing or _live.get(full) is not hit:
            return
        hit.refreshing = True
    engine = db.get_bind().engine

    def run() -> None:
        began = clock.monotonic()
        try:
            with Session(engine) as session:
                found = again(session)
        except Exception:
            logger.exception("counting the live month again failed; the next read counts it")
            with _live_lock:
                hit.refreshing = False
                hit.expires = min(hit.expires, began - STALE_SECONDS)
            return
        with _live_lock:
            if _live.get(full) is not hit:
                return  # dropped meanwhile (this process changed what it counts): the next read counts afresh
            changed = hit.changed
        _keep(full, found, began, part, at)
        with _live_lock:
            # Changes flushed while the thread counted may be missing from what it read: recounted by the next read.
            if changed and (kept := _live.get(full)) is not None:
                kept.changed |= changed

    threading.Thread(target=run, name="vreception-figures-again", daemon=True).start()


def _keep(full: tuple[Any, ...], found: object, started: float,
          part: Callable[[Session, set[int]], Iterable[Any]] | None = None, at: int = 0) -> None:
    with _live_lock:
        for old in [k for k, kept in _live.items() if kept.expires + STALE_SECONDS <= started]:
            del _live[old]
        while len(_live) >= LIVE_ENTRIES:
            del _live[next(iter(_live))]
        _live[full] = _Kept(started + LIVE_SECONDS, found, part, at)


def _full_key(key: tuple[Any, ...], *, db: Session) -> tuple[Any, ...]:
    bind = db.get_bind()
    return (id(bind.engine), bind.engine.url.render_as_string(hide_password=True), *key)


def forget_recent() -> None:
    """Drop every count kept by recent() (a reader after a bulk change made outside this process's writes)."""
    with _live_lock:
        _live.clear()


# What the kept counts are made of: a flush in this process that changes any of them drops its database's counts, or
# marks the handling nodes whose rows to count again, so that the process that changed a matter shows it at once
# (another process within LIVE_SECONDS).
COUNTED_FROM = (Matter, Deadline, RepeatLink, MatterEvent, Node, Demand)  # Demand: the registrations by category


def _changed(nodes: set[int], *, db: Session) -> None:
    """The kept counts of DB's database: the rows of NODES to be counted again (those that cannot, dropped)."""
    engine = id(db.get_bind().engine)
    with _live_lock:
        for key in [k for k in _live if k[0] == engine]:
            kept = _live[key]
            if kept.part is not None:
                kept.changed |= nodes
            else:
                del _live[key]


def _changed_nodes(session: Session, flushed: Sequence[object]) -> set[int] | None:
    """The handling nodes of the matters the FLUSHED objects belong to (before and after); None: not known (a node
    moved, whose subtree's matters change)."""
    from sqlalchemy import inspect as inspected
    from sqlalchemy.orm.util import identity_key

    nodes: set[int] = set()
    matters: set[int] = set()
    for obj in flushed:
        if isinstance(obj, Matter):
            state = inspected(obj).attrs.handling_node_id.history
            nodes |= {n for n in (*state.added, *state.unchanged, *state.deleted) if n is not None}
        elif isinstance(obj, (Deadline, MatterEvent, Demand)):
            matters |= {obj.matter_id} if obj.matter_id is not None else set()
        elif isinstance(obj, RepeatLink):
            matters |= {m for m in (obj.matter_id, obj.earlier_id) if m is not None}
        else:
            return None
    unknown = set()
    for matter_id in matters:
        loaded = session.identity_map.get(identity_key(Matter, matter_id))
        if isinstance(loaded, Matter) and loaded.handling_node_id is not None:
            state = inspected(loaded).attrs.handling_node_id.history
            nodes |= {n for n in (*state.added, *state.unchanged, *state.deleted) if n is not None}
        else:
            unknown.add(matter_id)
    if unknown:
        nodes |= set(session.connection().scalars(select(Matter.handling_node_id).where(Matter.id.in_(unknown))))
    return nodes


def _forget_changed(session: Session, _context: object) -> None:
    flushed = [obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, COUNTED_FROM)]
    if not flushed:
        return
    engine = id(session.get_bind().engine)
    with _live_lock:
        mine = [k for k in _live if k[0] == engine]
        if not mine:
            return
        splices = any(_live[k].part is not None for k in mine)
    nodes = _changed_nodes(session, flushed) if splices else None
    if nodes is None:
        with _live_lock:
            for key in [k for k in _live if k[0] == engine]:
                del _live[key]
    else:
        _changed(nodes, db=session)


event.listen(Session, "after_flush", _forget_changed)


def _live_counted(*, db: Session, month: date, paths: Sequence[str], within: ColumnElement[bool] | None,
                  rating_window_days: int, moment: datetime, settled: bool, by_key: bool, shared: bool,
                  days: tuple[date, date] | None = None,
                  given: tuple[set[int], list[rates.Counted]] | None = None) -> list[rates.Counted]:
    """rates.counted of MONTH (its DAYS) over PATHS at MOMENT; SHARED (a read of now): the count made in this process
    less than LIVE_SECONDS ago, if any, so that the pages of one subtree do not each count its month again. GIVEN:
    some nodes' rows of the count, counted already (with their stored days counted again), of nodes within PATHS."""
    def count_in(session: Session) -> list[rates.Counted]:
        return rates.counted(db=session, month=month, within=within, rating_window_days=rating_window_days,
                             at=moment, settled=settled, by_key=by_key, days=days)

    def count() -> list[rates.Counted]:
        return count_in(db)

    def part(session: Session, nodes: set[int]) -> list[rates.Counted]:
        # The same count of a few handling nodes only, at the same moment (the rest of the kept count's).
        known, rows = given if given is not None else (set(), [])
        found = [row for row in rows if row.handling_node_id in nodes]
        if nodes - known:
            of_nodes = Matter.handling_node_id.in_(sorted(nodes - known))
            found += rates.counted(db=session, month=month, rating_window_days=rating_window_days, at=moment,
                                   within=of_nodes if within is None else and_(within, of_nodes), settled=settled,
                                   days=days)
        return found

    if not shared:
        return count()
    key = ("month", month, tuple(sorted(paths)), rating_window_days, settled, local_day(moment), days)
    return list(recent(key, count, db=db, part=part, at=0, again=count_in))


def _within(given: tuple[set[int], list[rates.Counted]] | None, paths: Sequence[str], *, db: Session
            ) -> tuple[set[int], list[rates.Counted]] | None:
    """Of GIVEN nodes and their rows, those of nodes in the subtrees PATHS (a matter's path is its node's)."""
    if not given:
        return None
    nodes, rows = given
    inside = set(db.scalars(select(Node.id).where(Node.id.in_(sorted(nodes)), _subtree(paths))))
    return nodes, [row for row in rows if row.handling_node_id in inside]


def counted(*, db: Session, months: Sequence[date], paths: Sequence[str], rating_window_days: int = 30,
            at: datetime | None = None, by_unit: bool = True) -> dict[date, list[rates.Counted]]:
    """The cases behind each of MONTHS' figures, of the matters handled in the subtrees PATHS (BY_UNIT false: the
    stored months summed over the units in SQL, under unit 0, for readers of totals)."""
    moment = at or now()
    today = local_day(moment)
    months = [first_of(m) for m in months]
    stored = [m for m in months if ended(m, today)]
    complete, recounted = _ensure(stored, rating_window_days, moment, db=db) if stored else ({}, 0)
    # The months not ended yet: their finished days stored (through the day in THROUGH), the rest counted live.
    through: dict[date, date] = {}
    refreshed: set[int] = set()  # nodes whose stored days were counted again (a late event): all else as kept
    given: dict[date, tuple[set[int], list[rates.Counted]]] = {}  # their rest of the month, counted in that pass
    for month in months if paths else []:
        if month not in stored and first_of(month) <= today:
            def ensure(month: date = month) -> date | None:
                nonlocal recounted
                found = _to_date(month, rating_window_days, moment, db=db)
                if found.counted and found.nodes is None:
                    recounted += found.counted
                elif found.counted and found.nodes is not None and found.last is not None:
                    refreshed.update(found.nodes)
                    given[month] = (found.nodes, found.rest)
                return found.last

            # A read of now trusts the state it found less than LIVE_SECONDS ago, as it does the counts (this
            # process's changes drop it at once, another's show within LIVE_SECONDS).
            last = (recent(("to_date", month, rating_window_days, today), ensure, db=db) if at is None
                    else ensure())
            if last is not None:
                through[month] = last
                complete[month] = True  # the finished days' unrated part is stored with them
                stored.append(month)
    if recounted or refreshed:
        # What this process kept of the stored months is older than what it just stored: all of it, or the rows of
        # the nodes counted again.
        forget_recent() if recounted else _changed(refreshed, db=db)
        for month, last in through.items() if at is None else ():
            _keep(_full_key(("to_date", month, rating_window_days, today), db=db), last, clock.monotonic())
    out: dict[date, list[rates.Counted]] = {m: [] for m in months}
    within = or_(*[Matter.handling_path.startswith(p, autoescape=True) for p in paths]) if paths else None
    by_key = any(broad(p) for p in paths)  # a province's or a city's month: its matters read by key
    shared = at is None  # a read of now: the count of the last LIVE_SECONDS serves it
    if stored:
        keys = ((MonthlyFigure.handling_node_id, MonthlyFigure.unit_id) if by_unit
                else (literal(0).label("handling"), literal(0).label("unit")))
        query = (select(MonthlyFigure.month, *keys, MonthlyFigure.figure, MonthlyFigure.outcome,
                        func.sum(MonthlyFigure.n), func.sum(MonthlyFigure.good), func.sum(MonthlyFigure.counted))
                 .where(MonthlyFigure.window_days == rating_window_days, MonthlyFigure.month.in_(stored),
                        # The subtree's nodes first (a few thousand at most), then their rows: a join per stored
                        # row was planned as a node lookup for each of a province's tens of thousands.
                        MonthlyFigure.handling_node_id.in_(select(Node.id).where(_subtree(paths))))
                 .group_by(MonthlyFigure.month, *([MonthlyFigure.handling_node_id, MonthlyFigure.unit_id] if by_unit
                                                   else []), MonthlyFigure.figure, MonthlyFigure.outcome))

        def read() -> list[tuple[Any, ...]]:
            return [tuple(row) for row in db.execute(query)]

        def part(session: Session, nodes: set[int]) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in session.execute(
                query.where(MonthlyFigure.handling_node_id.in_(sorted(nodes))))]

        # A read of now shares the stored rows too (a province's year is 70,000 rows summed, 80 ms): a month counted
        # again by another process shows within LIVE_SECONDS, as its live part does.
        key = ("stored", tuple(stored), tuple(sorted(paths)), rating_window_days, by_unit,
               tuple(sorted(complete.items())), tuple(sorted(through.items())))
        kept = recent(key, read, db=db, part=part if by_unit else None, at=1) if shared else read()
        for month, handling, unit, figure, outcome, n, good, count in kept:
            if (figure, outcome) == UNRATED and not complete.get(month):
                continue
            out[month].append(rates.Counted(handling, unit, figure, outcome, int(n), int(good), int(count)))
        for month in stored:
            if month in through:
                out[month].extend(_live_counted(db=db, month=month, paths=paths, within=within,
                                                rating_window_days=rating_window_days, moment=moment, settled=True,
                                                by_key=by_key, shared=shared,
                                                days=(through[month] + timedelta(days=1),
                                                      rates.month_bounds(month)[1]),
                                                given=_within(given.get(month), paths, db=db)))
            elif not complete.get(month):
                out[month].extend(_live_counted(db=db, month=month, paths=paths, within=within,
                                                rating_window_days=rating_window_days, moment=moment, settled=False,
                                                by_key=by_key, shared=shared))
    if paths:
        for month in months:
            if month not in stored:
                out[month] = _live_counted(db=db, month=month, paths=paths, within=within,
                                           rating_window_days=rating_window_days, moment=moment, settled=True,
                                           by_key=by_key, shared=shared)
    return out


def monthly(*, db: Session, month: date, paths: Sequence[str], rating_window_days: int = 30,
            at: datetime | None = None) -> list[rates.UnitRates]:
    """The figures of every unit for MONTH over the subtrees PATHS (stored when the month has ended)."""
    found = counted(db=db, months=[month], paths=paths, rating_window_days=rating_window_days, at=at)
    return rates.units_from(found[first_of(month)])


def by_month(*, db: Session, months: Sequence[date], paths: Sequence[str], rating_window_days: int = 30,
             at: datetime | None = None) -> dict[date, list[rates.UnitRates]]:
    """The figures of every unit for each of MONTHS over the subtrees PATHS."""
    found = counted(db=db, months=months, paths=paths, rating_window_days=rating_window_days, at=at)
    return {month: rates.units_from(rows) for month, rows in found.items()}


def totals_by_month(*, db: Session, months: Sequence[date], paths: Sequence[str], rating_window_days: int = 30,
                    at: datetime | None = None) -> dict[date, rates.UnitRates]:
    """The figures of each of MONTHS over the subtrees PATHS, summed over the units (the stored ones in SQL)."""
    found = counted(db=db, months=months, paths=paths, rating_window_days=rating_window_days, at=at, by_unit=False)
    out = {}
    for month, rows in found.items():
        total = rates.UnitRates(0)
        for unit in rates.units_from(rows):
            total.merge(unit)
        out[month] = total
    return out


def summed(*, db: Session, months: Sequence[date], paths: Sequence[str], rating_window_days: int = 30,
           at: datetime | None = None) -> dict[int, rates.UnitRates]:
    """The figures of every unit over MONTHS: each month's numerators and denominators added up."""
    found = counted(db=db, months=months, paths=paths, rating_window_days=rating_window_days, at=at)
    return {unit.node_id: unit for unit in rates.units_from(row for rows in found.values() for row in rows)}


__all__ = ["by_month", "closed", "counted", "ended", "forget_recent", "mark_stale", "monthly", "recent", "store_ended",
           "summed", "totals_by_month"]
