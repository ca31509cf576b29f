"""Browse the audit log: filtered for the reader in SQL, newest first, paged by a keyset cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session, aliased

from vreception.audit import access
from vreception.audit.views import AuditEventOut, event_out
from vreception.auth.access import Principal, subtree_filter
from vreception.cases.access import among
from vreception.errors import Invalid
from vreception.models import AuditEvent, Node, Person
from vreception.paging import Page, bounded_count, check_limit

CURSOR_PREFIX = "a"  # keeps the cursor opaque: a client passes back what it was given


@dataclass(frozen=True)
class EventFilter:
    """What the reader asks for: who acted, what was done to which object, when, under which node."""

    who: str = ""  # a person's id, or part of their name
    action: str = ""  # a prefix: "matter." finds every matter action
    object_type: str = ""
    object_id: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    node_id: int | None = None


def cursor_of(seq: int) -> str:
    """The cursor of the page after the event SEQ."""
    return f"{CURSOR_PREFIX}{seq}"


def seq_of(cursor: str | None) -> int | None:
    """The seq a cursor stands for; 422 invalid for anything this module did not hand out."""
    if not cursor:
        return None
    digits = cursor[len(CURSOR_PREFIX):]
    if not cursor.startswith(CURSOR_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        raise Invalid("error.invalid_field", field="cursor", reason="")
    return int(digits)


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise Invalid("error.invalid_field", field=name, reason="+08:00")  # a time without its offset is ambiguous
    return moment


def _filtered(principal: Principal, wanted: EventFilter, *, db: Session) -> Select[*tuple[Any, ...]]:
    actor, node = aliased(Person), aliased(Node)
    query: Select[*tuple[Any, ...]] = (select(AuditEvent, actor.name.label("actor_name"), node.id.label("node_id"),
                                  node.name.label("node_name"))
             .outerjoin(actor, actor.id == AuditEvent.actor_id).outerjoin(node, node.id == actor.node_id)
             .where(access.visible(principal, node.path), _actors_among(principal)))
    who = wanted.who.strip()
    if who.isascii() and who.isdigit() and len(who) <= 12:
        query = query.where(AuditEvent.actor_id == int(who))
    elif who:
        query = query.where(actor.name.contains(who, autoescape=True))
    if wanted.action:
        query = query.where(AuditEvent.action.startswith(wanted.action, autoescape=True))
    if wanted.object_type:
        query = query.where(AuditEvent.entity_type == wanted.object_type)
    if wanted.object_id:
        query = query.where(AuditEvent.entity_id == wanted.object_id)
    start, end = _aware(wanted.start, "from"), _aware(wanted.end, "to")
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    if wanted.node_id is not None:
        under = access.node_filter(principal, wanted.node_id, db=db)
        query = query.where(node.path.startswith(under.path, autoescape=True))
    return query


def _actors_among(principal: Principal) -> ColumnElement[bool]:
    # The same rule as access.visible, said so the actor index answers it: a city's or a county's people are a few
    # hundred ids, and its page and count read only their events instead of walking the whole log for the ones they
    # made. A province office (and an administrator over everything) reads most events along the seq index.
    roots = principal.paths_for(access.READERS)
    if not roots or any(r.count("/") <= 2 for r in roots):
        return true()
    people = select(Person.id).join(Node, Node.id == Person.node_id).where(
        subtree_filter(principal, Node.path, access.READERS))
    return among(AuditEvent.actor_id, people)


def browse(*, db: Session, principal: Principal, wanted: EventFilter, limit: int | None = None,
           cursor: str | None = None) -> Page[AuditEventOut]:
    """The events the principal may see that match WANTED, newest first; `next` resumes below the last one shown,
    so events appended meanwhile neither shift nor repeat a page."""
    access.require_reader(principal)
    size, before = check_limit(limit), seq_of(cursor)
    query = _filtered(principal, wanted, db=db)
    total, capped = bounded_count(query.order_by(AuditEvent.seq.desc()), db=db)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = db.execute(query.order_by(AuditEvent.seq.desc()).limit(size + 1)).all()
    following = cursor_of(rows[size - 1].AuditEvent.seq) if len(rows) > size else None
    return Page[AuditEventOut](items=[event_out(row) for row in rows[:size]], total=total, total_capped=capped,
                               next=following)
