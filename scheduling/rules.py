"""The rules a booking must pass: level (依法逐级), group size, the matter's state, legal channels (诉访分离),
the leader's published scope, the cut-off."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from scheduling.errors import (
    LevelSkip,
    MatterNotBookable,
    PastCutoff,
    TooManyRepresentatives,
)
from scheduling.lookup import region_of
from scheduling.policy import Policy, cutoff_for, local_day
from vreception.cases import categories
from vreception.errors import Invalid
from vreception.i18n import Msg
from vreception.models.cases import DeadlineState, Matter, MatterState
from vreception.models.org import LEVELS, Node
from vreception.models.people import Person

MAX_REPRESENTATIVES = 5  # Art. 20
GROUP_ROLES = ("petitioner", "representative")
CONCLUDED = (MatterState.closed, MatterState.final)
IN_PROGRESS_MONTHS = 2
REVIEW_WINDOW_KIND = "review_request"
SCOPE_SEPARATORS = re.compile(r"[、，,；;。/\s]+")
LIST_SEPARATOR = "、"
NOTE_SEPARATOR = "；"


class LegalChannelMatter(Invalid):
    """诉访分离: a demand belongs to litigation, arbitration or administrative review, not to a leader's slot."""

    code = "legal_channel_booking"


class OutsideScope(Invalid):
    """The matter's categories are outside the scope of matters the leader published."""

    code = "outside_leader_scope"


def check_level(*, db: Session, matter: Matter, leader: Person) -> None:
    """LevelSkip unless the leader is at the matter's origin level or the one above, in its own chain."""
    origin_node = db.get(Node, matter.origin_node_id)
    assert origin_node is not None  # a foreign key of the matter
    origin = region_of(origin_node, db=db)
    seat = region_of(leader.node, db=db)
    step = LEVELS.index(origin.level) - LEVELS.index(seat.level)
    if step in (0, 1) and origin.path.startswith(seat.path):
        return
    raise LevelSkip("error.level_skip", field="leader_id", origin=origin.name,
                    origin_level=Msg(f"level.{origin.level.value}"), leader=leader.name, seat=seat.name,
                    leader_level=Msg(f"level.{seat.level.value}"))


def check_representatives(roles: list[str]) -> None:
    """TooManyRepresentatives when more than five petitioners or representatives sit in the room."""
    count = sum(1 for r in roles if r in GROUP_ROLES)
    if count > MAX_REPRESENTATIVES:
        raise TooManyRepresentatives("error.group_too_large", field="participants", count=count,
                                     max=MAX_REPRESENTATIVES)


def check_matter_bookable(*, matter: Matter, now: datetime, policy: Policy) -> None:
    """MatterNotBookable for a concluded matter, one accepted in the last two months, or one past review."""
    if matter.state in CONCLUDED:
        raise MatterNotBookable("error.matter_concluded", field="matter_id", number=matter.number)
    if (matter.state is MatterState.accepted and matter.accepted_at is not None
            and matter.accepted_at > now - relativedelta(months=IN_PROGRESS_MONTHS)):
        raise MatterNotBookable("error.matter_in_progress", field="matter_id", number=matter.number,
                                accepted=local_day(policy, matter.accepted_at).isoformat())
    if matter.state is MatterState.served:
        today = local_day(policy, now)
        for deadline in matter.deadlines:
            if (deadline.kind == REVIEW_WINDOW_KIND and deadline.state is not DeadlineState.cancelled
                    and deadline.due_day < today):
                raise MatterNotBookable("error.matter_review_window_passed", field="matter_id",
                                        number=matter.number, due=deadline.due_day.isoformat())


def check_cutoff(*, policy: Policy, starts_at: datetime, now: datetime) -> None:
    """PastCutoff when bookings for the session's day have closed."""
    cutoff = cutoff_for(policy, starts_at)
    if now > cutoff:
        raise PastCutoff("error.past_cutoff", field="start",
                         cutoff=cutoff.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M"))


def check_legal_channel(*, matter: Matter) -> None:
    """LegalChannelMatter when a demand's category belongs to a legal channel (诉讼, 仲裁, 行政复议)."""
    for demand in sorted(matter.demands, key=lambda d: d.position):
        if demand.legal_channel:
            raise LegalChannelMatter("error.legal_channel_booking", field="matter_id", number=matter.number,
                                     category=_category_name(demand.category),
                                     channel=Msg(f"pages.legal.{demand.legal_channel}"))


def _exactly(token: str, known: dict[str, categories.Category]) -> str | None:
    return next((code for code, category in known.items() if token in (code, category.name)), None)


def scope_categories(scope: str) -> set[str] | None:
    """The category codes a published scope names (by code or name), or None when it names none.

    A scope chosen on the plan form names its categories exactly (their names, joined by 、); an older scope is prose
    the office wrote, matched loosely. Only a scope that names categories can be checked.
    """
    known = categories.load()
    found: set[str] = set()
    for token in (t for t in SCOPE_SEPARATORS.split(scope or "") if t):
        exact = _exactly(token, known)
        if exact is not None:
            found.add(exact)
            continue
        for code, category in known.items():
            if len(token) >= 2 and (token in category.name or category.name in token):
                found.add(code)
    return found or None


def compose_scope(codes: Iterable[str], note: str = "") -> str:
    """The scope to publish: the chosen categories by name (joined by 、), then the office's note after ；."""
    known = categories.load()
    chosen = list(dict.fromkeys(codes))
    for code in chosen:
        if code not in known:
            raise Invalid("error.category_unknown", field="scope_categories", category=code)
    names = LIST_SEPARATOR.join(known[code].name for code in chosen)
    note = (note or "").strip()
    return f"{names}{NOTE_SEPARATOR}{note}" if names and note else names or note


def split_scope(scope: str) -> tuple[list[str], str]:
    """The chosen categories and the note of a published scope (compose_scope's inverse); prose is all note."""
    known = categories.load()
    head, _, note = (scope or "").partition(NOTE_SEPARATOR)
    codes = [_exactly(name, known) for name in head.split(LIST_SEPARATOR)]
    if not head or None in codes:
        return [], scope or ""
    return [code for code in codes if code is not None], note


def check_scope(*, matter: Matter, leader: Person, scopes: Iterable[str]) -> None:
    """OutsideScope when a demand's category is outside the scope the leader published for the booking.

    SCOPES are those of the plans the booking falls in; a plan whose scope names no category sets no bound.
    """
    allowed: set[str] = set()
    for scope in scopes:
        named = scope_categories(scope)
        if named is None:
            return
        allowed |= named
    if not allowed:
        return  # no plan at all: nothing published to check against
    outside = sorted({d.category for d in matter.demands} - allowed)
    if outside:
        raise OutsideScope("error.outside_leader_scope", field="leader_id", number=matter.number,
                           leader=leader.name, categories=LIST_SEPARATOR.join(_category_name(c) for c in outside),
                           scope=LIST_SEPARATOR.join(_category_name(c) for c in sorted(allowed)))


def _category_name(code: str) -> str:
    category = categories.load().get(code)
    return category.name if category else code
