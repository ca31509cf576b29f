"""Registering a matter (登记): petitioners, demands (分诉求登记), numbering, repeat detection."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases import categories
from vreception.cases.deadlines import local_day, open_deadline
from vreception.cases.errors import TooManyRepresentatives
from vreception.cases.identity import Protector, normalize_id_number, normalize_phone
from vreception.cases.numbering import next_value
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.models import (
    Channel,
    Demand,
    Matter,
    MatterEvent,
    MatterPetitioner,
    MatterState,
    Node,
    NodeKind,
    Petitioner,
    RepeatLink,
)
from vreception.org import clean_name

MAX_REPRESENTATIVES = 5
MAX_PETITIONERS = 500
MAX_DEMAND_CHARS = 2000
QUERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
QUERY_CODE_LENGTH = 10
REPEAT_THRESHOLD = 0.6
SAME_CATEGORY_THRESHOLD = 0.35


@dataclass
class PossibleRepeat:
    """An earlier matter of the same person with similar demands (重复访?)."""

    matter: Matter
    similarity: int


def new_query_code() -> str:
    """A random, unguessable query code (查询码) of ~50 bits."""
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def similarity(a: str, b: str) -> float:
    """How alike two demand texts are (0..1)."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _petitioner(session: Session, protector: Protector, index: int, raw: dict[str, Any]) -> Petitioner:
    field = f"petitioners.{index}"
    name = clean_name(raw.get("name"), field=f"{field}.name")
    id_number = normalize_id_number(raw.get("id_number", ""), field=f"{field}.id_number")
    phone = normalize_phone(raw.get("phone"), field=f"{field}.phone")
    key = protector.lookup_hash(id_number)
    person = session.scalar(select(Petitioner).where(Petitioner.id_hash == key))
    if person is None:
        person = Petitioner(name=name, id_hash=key, id_cipher=protector.encrypt(id_number), id_tail=id_number[-4:])
        session.add(person)
    if phone:
        person.phone_cipher, person.phone_tail = protector.encrypt(phone), phone[-4:]
    return person


def find_repeats(session: Session, petitioner_ids: list[int], demands: list[tuple[str, str]],
                 exclude_id: int | None = None) -> list[PossibleRepeat]:
    """Earlier matters of these petitioners whose demands resemble DEMANDS (summary, category)."""
    if not petitioner_ids:
        return []
    earlier = session.scalars(
        select(Matter).join(MatterPetitioner).where(MatterPetitioner.petitioner_id.in_(petitioner_ids))
        .order_by(Matter.id).distinct()
    ).all()
    found = []
    for matter in earlier:
        if matter.id == exclude_id:
            continue
        best = 0.0
        for summary, category in demands:
            for old in matter.demands:
                score = similarity(summary, old.summary)
                if score >= REPEAT_THRESHOLD or (old.category == category and score >= SAME_CATEGORY_THRESHOLD):
                    best = max(best, score)
        if best:
            found.append(PossibleRepeat(matter, round(best * 100)))
    return found


def check_new(session: Session, *, protector: Protector, petitioners: list[dict[str, Any]],
              demands: list[dict[str, Any]], actor_id: int | None = None) -> list[PossibleRepeat]:
    """Repeat check before registering (the form shows it as a warning); a search by ID number is audited."""
    ids, searched = [], 0
    for raw in petitioners:
        try:
            key = protector.lookup_hash(normalize_id_number(raw.get("id_number", "")))
        except Invalid:
            continue
        searched += 1
        found = session.scalar(select(Petitioner.id).where(Petitioner.id_hash == key))
        if found:
            ids.append(found)
    if searched:
        audit.record(session, action="matter.identity_search", entity_type="person", entity_id=actor_id or 0,
                     actor_id=actor_id, data={"id_numbers": searched, "found": len(ids)})
    return find_repeats(session, ids, [(d.get("summary", ""), d.get("category", "")) for d in demands])


def register(
    session: Session,
    *,
    protector: Protector,
    petitioners: list[dict[str, Any]],
    demands: list[dict[str, Any]],
    origin_node_id: int,
    handling_node_id: int,
    channel: str,
    representatives: list[int] | None = None,
    received_at: datetime | None = None,
    actor_id: int | None = None,
    categories_file: str | None = None,
    moves_off_holidays: bool = True,
) -> tuple[Matter, str, list[PossibleRepeat]]:
    """Register a matter; returns it, its query code (shown once) and possible repeats."""
    if not petitioners:
        raise Invalid("error.petitioners_required", field="petitioners")
    if len(petitioners) > MAX_PETITIONERS:
        raise Invalid("error.too_many_petitioners", field="petitioners", max=MAX_PETITIONERS)
    representatives = sorted(set(representatives or []))
    if any(not 0 <= i < len(petitioners) for i in representatives):
        raise Invalid("error.representative_index", field="representatives")
    if len(representatives) > MAX_REPRESENTATIVES or (len(petitioners) > MAX_REPRESENTATIVES and not representatives):
        raise TooManyRepresentatives(field="representatives", max=MAX_REPRESENTATIVES)
    if not demands:
        raise Invalid("error.demands_required", field="demands")
    cleaned = []
    for i, raw in enumerate(demands):
        summary = (raw.get("summary") or "").strip()
        if not summary:
            raise Invalid("error.demand_empty", field=f"demands.{i}.summary")
        if len(summary) > MAX_DEMAND_CHARS:
            raise Invalid("error.demand_too_long", field=f"demands.{i}.summary", max=MAX_DEMAND_CHARS)
        cleaned.append((summary, categories.get(raw.get("category", ""), categories_file, f"demands.{i}.category")))
    try:
        channel_value = Channel(channel)
    except ValueError:
        raise Invalid("error.channel_unknown", field="channel", channel=channel) from None
    moment = now()
    received = received_at or moment
    if received.tzinfo is None:
        raise Invalid("error.time_zone_required", field="received_at")
    if received > moment + timedelta(minutes=5):
        raise Invalid("error.received_in_future", field="received_at")
    origin = session.get(Node, origin_node_id)
    if origin is None:
        raise NotFound("error.node_not_found", field="origin_node_id", id=origin_node_id)
    if origin.kind is not NodeKind.region:
        raise Invalid("error.origin_not_region", field="origin_node_id")
    office = session.get(Node, handling_node_id)
    if office is None:
        raise NotFound("error.node_not_found", field="handling_node_id", id=handling_node_id)

    people = [_petitioner(session, protector, i, raw) for i, raw in enumerate(petitioners)]
    if len({id(p) for p in people}) != len(people):
        raise Invalid("error.petitioner_duplicate", field="petitioners")
    session.flush()
    repeats = find_repeats(session, [p.id for p in people], [(s, c.code) for s, c in cleaned])

    year = local_day(moment).year
    serial = next_value(session, scope=f"matter:{office.id}", year=year)
    code = new_query_code()
    matter = Matter(
        number=f"{office.code}-{year}-{serial:05d}", query_code_hash=protector.lookup_hash(code),
        origin_node_id=origin.id, handling_node_id=office.id, handling_path=office.path, channel=channel_value,
        state=MatterState.registered, is_group=len(people) > 1, possible_repeat=bool(repeats),
        received_at=received, registered_at=moment, registered_by=actor_id,
    )
    for position, person in enumerate(people):
        matter.petitioner_links.append(MatterPetitioner(petitioner=person, position=position,
                                                        representative=position in representatives))
    for position, (summary, category) in enumerate(cleaned):
        matter.demands.append(Demand(position=position, summary=summary, category=category.code,
                                     legal_channel=category.legal_channel))
    session.add(matter)
    session.flush()
    for repeat in repeats:
        session.add(RepeatLink(matter_id=matter.id, earlier_id=repeat.matter.id, similarity=repeat.similarity))
    open_deadline(session, matter, "acceptance", received, moves_off_holidays=moves_off_holidays)
    open_deadline(session, matter, "remit_objection", received, moves_off_holidays=moves_off_holidays)
    session.add(MatterEvent(matter_id=matter.id, at=moment, actor_id=actor_id, action="register",
                            to_state=MatterState.registered.value))
    audit.record(session, action="matter.registered", entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"number": matter.number, "handling_node_id": office.id, "petitioners": len(people),
                       "demands": len(cleaned), "possible_repeats": [r.matter.id for r in repeats]})
    return matter, code, repeats
