"""Finding matters (信访事项查询): the filter, its SQL, keyset pages, and one petitioner's history."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import ColumnElement, Date, Select, and_, exists, func, literal, not_, or_, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from vreception.auth.access import Principal
from vreception.cases import access, categories, deadlines
from vreception.cases.identity import (
    Protector,
    credit_lookup_key,
    mask,
    normalize_credit_code,
    normalize_id_number,
    normalize_phone,
)
from vreception.cases.queries import deadline_out
from vreception.cases.supervision import ENDED, SUPERVISED
from vreception.cases.views import MatterListItem
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.models import Deadline, DeadlineState, Demand, Matter, MatterPetitioner, Node, Petitioner
from vreception.models.cases import Channel, MatterState
from vreception.paging import Page, bounded_count, check_limit

Sort = Literal["active", "received_desc", "received_asc", "due_asc"]
# Matters without an open deadline sort after every dated one.
NO_DUE = date(9999, 12, 31)
_SORT_CODES = {"active": "ac", "received_desc": "rd", "received_asc": "ra", "due_asc": "da"}
MAX_CURSOR = 200
# One tail is shared by about one petitioner in 10,000: a province's million leaves ~100 to compare.
MAX_PHONE_CANDIDATES = 5000


class MatterSearch(BaseModel):
    """What to find: every field narrows the matters the reader may read (all filtering in SQL)."""

    number: str | None = Field(default=None, max_length=40, description="编号, exact or its beginning")
    name: str | None = Field(default=None, max_length=100, description="a petitioner's name contains this")
    id_number: str | None = Field(default=None, max_length=32, description=(
        "a petitioner's ID number or credit code, exactly (matched through its keyed hash, never decrypted)"))
    phone: str | None = Field(default=None, max_length=32, description=(
        "a petitioner's phone, exactly (the candidates sharing its last four digits are compared in the service)"))
    phone_tail: str | None = Field(default=None, pattern=r"^\d{4}$", description=(
        "the last four digits of a petitioner's phone (phones have no keyed hash: only their tail is searchable)"))
    text: str | None = Field(default=None, max_length=200, description="a demand's summary contains this")
    state: list[MatterState] = Field(default_factory=list, description="any of these states")
    category: str | None = Field(default=None, max_length=32, description="a demand of this category")
    channel: list[Channel] = Field(default_factory=list, description="any of these channels")
    node_id: int | None = Field(default=None, description="handled within this node's subtree (inside the reader's)")
    owner_leader_id: int | None = Field(default=None, description="owned by this leader (领导包案)")
    overdue: bool | None = Field(default=None, description=(
        "true: a statutory deadline the body owes is past its day and not met; false: none is"))
    received_from: date | None = Field(default=None, description="received on or after this day (local)")
    received_to: date | None = Field(default=None, description="received on or before this day (local)")
    sort: Sort = Field(default="active", description=(
        "active (open matters newest first, then the ended ones newest first), received_desc, received_asc or "
        "due_asc (next due)"))

    def filters(self) -> dict[str, Any]:
        """The fields given (for the audit record and links)."""
        return self.model_dump(mode="json", exclude_defaults=True)


class MatterHit(MatterListItem):
    """A matter as the search lists it."""

    petitioner_id: int | None = Field(default=None, description="the first petitioner (their history: "
                                      "/api/v1/petitioners/{id}/matters)")
    channel: str
    categories: list[str]
    handling_node_name: str
    overdue: bool = Field(description="a deadline the body owes is past its day and not met")


LIST_FIELDS = ("state", "channel")


def parse(values: Mapping[str, Sequence[str]]) -> MatterSearch:
    """The search from a query string (a form's GET), blanks ignored; Invalid naming the first bad field."""
    data: dict[str, Any] = {}
    for key in MatterSearch.model_fields:
        given = [v.strip() for v in values.get(key, ()) if v and v.strip()]
        if given:
            data[key] = given if key in LIST_FIELDS else given[0]
    try:
        return MatterSearch.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "?"
        raise Invalid("error.invalid_field", field=field, reason=first.get("msg", "")) from None


def today() -> date:
    """Today in the deadlines' time zone."""
    from vreception.clock import now

    return deadlines.local_day(now())


def _owes_overdue(day: date) -> ColumnElement[bool]:
    late = exists(select(Deadline.id).where(Deadline.matter_id == Matter.id, Deadline.state == DeadlineState.open,
                                            Deadline.kind.in_(SUPERVISED), Deadline.due_day < day))
    return and_(late, Matter.state.notin_(ENDED))


def _petitioner_has(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(MatterPetitioner.matter_id).join(Petitioner, Petitioner.id == MatterPetitioner.petitioner_id)
                  .where(MatterPetitioner.matter_id == Matter.id, condition))


def _demand_has(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Demand.id).where(Demand.matter_id == Matter.id, condition))


def _with_phone(protector: Protector, raw: str, *, db: Session) -> list[int]:
    """Petitioners whose phone is RAW: phones are encrypted with a fresh nonce each (no keyed hash to match), so the
    ones sharing its last four digits are decrypted here and compared; the numbers never leave this function."""
    phone = normalize_phone(raw.replace(" ", "").replace("-", ""), field="phone")
    if len(phone) < 4:
        raise Invalid("error.phone_format", field="phone")
    candidates = db.execute(select(Petitioner.id, Petitioner.phone_cipher)
                            .where(Petitioner.phone_tail == phone[-4:]).limit(MAX_PHONE_CANDIDATES + 1)).all()
    if len(candidates) > MAX_PHONE_CANDIDATES:
        raise Invalid("error.invalid_field", field="phone", reason="add a name or a number to narrow the search")
    return [person_id for person_id, cipher in candidates if protector.decrypt(cipher) == phone]


def _id_hashes(protector: Protector, raw: str) -> list[str]:
    value = raw.strip().upper()
    try:
        return [protector.lookup_hash(normalize_id_number(value))]
    except Invalid:
        pass
    try:
        return [protector.lookup_hash(credit_lookup_key(normalize_credit_code(value)))]
    except Invalid:
        raise Invalid("error.id_number_format", field="id_number") from None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), deadlines.zone()).astimezone(UTC)


def _node_within(principal: Principal, node_id: int, *, db: Session) -> Node:
    node = db.get(Node, node_id)
    if node is None:
        raise Invalid("error.invalid_field", field="node_id", reason="")
    if not any(node.path.startswith(s.path) for s in principal.scopes):
        raise Forbidden()
    return node


def conditions(*, db: Session, principal: Principal, search: MatterSearch, protector: Protector,
               categories_file: str | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions on Matter: the reader's matters (cases.access) narrowed by SEARCH; Invalid for a bad value."""
    where: list[ColumnElement[bool]] = [access.readable(principal)]
    if search.number and search.number.strip():
        where.append(Matter.number.startswith(search.number.strip(), autoescape=True))
    if search.name and search.name.strip():
        where.append(_petitioner_has(Petitioner.name.icontains(search.name.strip(), autoescape=True)))
    if search.id_number and search.id_number.strip():
        where.append(_petitioner_has(Petitioner.id_hash.in_(_id_hashes(protector, search.id_number))))
    if search.phone and search.phone.strip():
        where.append(_petitioner_has(Petitioner.id.in_(_with_phone(protector, search.phone, db=db))))
    if search.phone_tail:
        where.append(_petitioner_has(Petitioner.phone_tail == search.phone_tail))
    if search.text and search.text.strip():
        where.append(_demand_has(Demand.summary.icontains(search.text.strip(), autoescape=True)))
    if search.state:
        where.append(Matter.state.in_(search.state))
    if search.category:
        categories.get(search.category, categories_file, field="category")
        where.append(_demand_has(Demand.category == search.category))
    if search.channel:
        where.append(Matter.channel.in_(search.channel))
    if search.node_id is not None:
        node = _node_within(principal, search.node_id, db=db)
        where.append(Matter.handling_path.startswith(node.path, autoescape=True))
    if search.owner_leader_id is not None:
        where.append(Matter.owner_leader_id == search.owner_leader_id)
    if search.overdue is not None:
        late = _owes_overdue(today())
        where.append(late if search.overdue else not_(late))
    if search.received_from and search.received_to and search.received_from > search.received_to:
        raise Invalid("error.invalid_field", field="received_to", reason="received_from ≤ received_to")
    if search.received_from:
        where.append(Matter.received_at >= _local_midnight(search.received_from))
    if search.received_to:
        where.append(Matter.received_at < _local_midnight(search.received_to + timedelta(days=1)))
    return where


def _next_due() -> ColumnElement[date]:
    due = (select(func.min(Deadline.due_day)).where(Deadline.matter_id == Matter.id,
                                                     Deadline.state == DeadlineState.open).scalar_subquery())
    return type_coerce(func.coalesce(due, literal(NO_DUE, Date)), Date)


# ---- keyset cursors --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """Where a page ended: the sort key and id of its last matter."""

    key: datetime | date
    id: int
    ended: bool = False  # sort "active": the page ended among the ended matters


def encode_cursor(sort: Sort, position: Position) -> str:
    """An opaque cursor for the page after POSITION."""
    code = ("ae" if position.ended else "ao") if sort == "active" else _SORT_CODES[sort]
    raw = f"{code}|{position.key.isoformat()}|{position.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str | None) -> Position | None:
    """The position a cursor of this sort stands for; Invalid (field cursor) for anything else."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR or not cursor.isascii():
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        code, key, ident = raw.split("|")
        if code not in (("ao", "ae") if sort == "active" else (_SORT_CODES[sort],)):
            raise ValueError
        moment: datetime | date = date.fromisoformat(key) if code == "da" else datetime.fromisoformat(key)
        if isinstance(moment, datetime) and moment.tzinfo is None:
            raise ValueError
        return Position(moment, int(ident), ended=code == "ae")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid("error.invalid_field", field="cursor", reason="") from None


def _ordered(query: Select[Any], sort: Sort, after: Position | None) -> Select[Any]:
    if sort == "due_asc":
        due = _next_due()
        if after is not None:
            query = query.where(or_(due > after.key, and_(due == after.key, Matter.id > after.id)))
        return query.order_by(due, Matter.id)
    if sort == "received_asc":
        if after is not None:
            query = query.where(or_(Matter.received_at > after.key,
                                    and_(Matter.received_at == after.key, Matter.id > after.id)))
        return query.order_by(Matter.received_at, Matter.id)
    if after is not None:
        query = query.where(or_(Matter.received_at < after.key,
                                and_(Matter.received_at == after.key, Matter.id < after.id)))
    return query.order_by(Matter.received_at.desc(), Matter.id.desc())


def _rows(where: Sequence[ColumnElement[bool]], sort: Sort, after: Position | None, size: int,
          *, db: Session) -> list[Matter]:
    """Up to SIZE matters of WHERE after AFTER in the order SORT. "active" reads the open matters newest first, then
    (when they run out on this page) the ended ones: two walks of the received_at index, none of them sorted whole."""
    if sort != "active":
        return list(db.scalars(_loaded(_ordered(select(Matter).where(*where), sort, after)).limit(size)))
    rows: list[Matter] = []
    if after is None or not after.ended:
        query = select(Matter).where(*where, Matter.state.notin_(ENDED))
        rows = list(db.scalars(_loaded(_ordered(query, "received_desc", after)).limit(size)))
        after = None
    if len(rows) < size:
        query = select(Matter).where(*where, Matter.state.in_(ENDED))
        rows += list(db.scalars(_loaded(_ordered(query, "received_desc", after)).limit(size - len(rows))))
    return rows


def _position(sort: Sort, matter: Matter) -> Position:
    if sort == "active":
        return Position(matter.received_at, matter.id, ended=matter.state in ENDED)
    if sort == "due_asc":
        open_days = [d.due_day for d in matter.deadlines if d.state is DeadlineState.open]
        return Position(min(open_days) if open_days else NO_DUE, matter.id)
    return Position(matter.received_at, matter.id)


# ---- reading ---------------------------------------------------------------------------------------------------------

def is_overdue(matter: Matter, day: date) -> bool:
    """The rule of the overdue filter, for a loaded matter."""
    return matter.state not in ENDED and any(
        d.state is DeadlineState.open and d.kind in SUPERVISED and d.due_day < day for d in matter.deadlines)


def _loaded(query: Select[Any]) -> Select[Any]:
    return query.options(selectinload(Matter.deadlines), selectinload(Matter.demands),
                         selectinload(Matter.petitioner_links).selectinload(MatterPetitioner.petitioner))


def node_names(matters: Sequence[Matter], *, db: Session) -> dict[int, str]:
    """The names of the handling nodes of MATTERS, in one query."""
    ids = {m.handling_node_id for m in matters}
    if not ids:
        return {}
    return {node_id: name for node_id, name in db.execute(select(Node.id, Node.name).where(Node.id.in_(ids)))}


def hit(matter: Matter, names: Mapping[int, str], day: date) -> MatterHit:
    """One matter as the search lists it."""
    open_deadlines = [d for d in matter.deadlines if d.state is DeadlineState.open]
    next_due = min(open_deadlines, key=lambda d: d.due_day) if open_deadlines else None
    first = matter.petitioner_links[0].petitioner if matter.petitioner_links else None
    return MatterHit(
        id=matter.id, number=matter.number, state=matter.state.value, handling_node_id=matter.handling_node_id,
        owner_leader_id=matter.owner_leader_id, received_at=matter.received_at, possible_repeat=matter.possible_repeat,
        summary=matter.demands[0].summary[:80] if matter.demands else "", petitioner=first.name if first else "",
        next_deadline=deadline_out(next_due) if next_due else None, petitioner_id=first.id if first else None,
        channel=matter.channel.value, categories=list(dict.fromkeys(d.category for d in matter.demands)),
        handling_node_name=names.get(matter.handling_node_id, ""), overdue=is_overdue(matter, day))


def count(where: Sequence[ColumnElement[bool]], *, db: Session) -> int:
    """How many matters WHERE selects, counted in SQL."""
    return db.scalar(select(func.count(Matter.id)).where(*where)) or 0


def count_up_to(where: Sequence[ColumnElement[bool]], *, db: Session) -> tuple[int, bool]:
    """How many matters WHERE selects, counted up to paging.COUNT_CAP: (count, whether there are more)."""
    # In the order of the default list: a reader of most matters counts along received_at's index and stops early.
    return bounded_count(select(Matter.id).where(*where).order_by(Matter.received_at.desc()), db=db)


def search_matters(*, db: Session, principal: Principal, search: MatterSearch, protector: Protector,
                   categories_file: str | None = None, limit: int | None = None,
                   cursor: str | None = None) -> Page[MatterHit]:
    """One page of the matters the principal may read that SEARCH finds, with the total (keyset cursor)."""
    size, after = check_limit(limit), decode_cursor(search.sort, cursor)
    where = conditions(db=db, principal=principal, search=search, protector=protector, categories_file=categories_file)
    total, capped = count_up_to(where, db=db)
    rows = _rows(where, search.sort, after, size + 1, db=db)
    more = len(rows) > size
    rows = rows[:size]
    names, day = node_names(rows, db=db), today()
    following = encode_cursor(search.sort, _position(search.sort, rows[-1])) if more and rows else None
    return Page[MatterHit](items=[hit(m, names, day) for m in rows], total=total, total_capped=capped, next=following)


def all_matters(*, db: Session, principal: Principal, search: MatterSearch, protector: Protector,
                categories_file: str | None = None, at_most: int) -> tuple[list[Matter], int]:
    """Every matter SEARCH finds for the principal, in its order, when there are at most AT_MOST (else only the
    count): (matters, total)."""
    where = conditions(db=db, principal=principal, search=search, protector=protector, categories_file=categories_file)
    total = count(where, db=db)
    if total > at_most:
        return [], total
    return _rows(where, search.sort, None, at_most, db=db), total


def masked_ids(matter: Matter) -> str:
    """The petitioners' ID numbers (or credit codes) as a reader outside the handling office sees them."""
    return "、".join(mask(link.petitioner.id_tail) for link in matter.petitioner_links if link.petitioner.id_tail)


# ---- one petitioner --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class History:
    """A petitioner's name and a page of their matters the reader may read."""

    petitioner_id: int
    name: str
    matters: Page[MatterHit]


def petitioner_history(*, db: Session, principal: Principal, petitioner_id: int, limit: int | None = None,
                       cursor: str | None = None) -> History:
    """The matters of one petitioner the principal may read, newest first; NotFound when none (as the API)."""
    size, after = check_limit(limit), decode_cursor("received_desc", cursor)
    where = [access.readable(principal), Matter.id.in_(
        select(MatterPetitioner.matter_id).where(MatterPetitioner.petitioner_id == petitioner_id))]
    total = count(where, db=db)
    if not total:
        # Whether a person petitioned at all is itself personal: unknown and unreadable look alike.
        raise NotFound("error.petitioner_not_found", id=petitioner_id)
    rows = list(db.scalars(_loaded(_ordered(select(Matter).where(*where), "received_desc", after)).limit(size + 1)))
    more, rows = len(rows) > size, rows[:size]
    names, day = node_names(rows, db=db), today()
    person = db.get(Petitioner, petitioner_id)
    following = encode_cursor("received_desc", _position("received_desc", rows[-1])) if more and rows else None
    return History(petitioner_id, person.name if person else "",
                   Page[MatterHit](items=[hit(m, names, day) for m in rows], total=total, next=following))
