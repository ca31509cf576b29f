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
from vreception.cases.identity import (
    Protector,
    credit_lookup_key,
    normalize_address,
    normalize_credit_code,
    normalize_id_number,
    normalize_phone,
)
from vreception.cases.numbering import next_value
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.integration import record as integration
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
from vreception.sms import hooks as sms_hooks

MAX_REPRESENTATIVES = 5
MAX_PETITIONERS = 500
MAX_DEMAND_CHARS = 2000
QUERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
QUERY_CODE_LENGTH = 10
REPEAT_THRESHOLD = 0.6
SAME_CATEGORY_THRESHOLD = 0.35
MAX_FACTS_CHARS = 10000
MAX_ACCUSED_CHARS = 200
MAX_PEOPLE = 100000
# Who may petition (Art. 2): citizens, legal persons, other organisations.
KINDS = ("citizen", "legal_person", "organisation")
ORGANISATIONS = ("legal_person", "organisation")
# A visit, by video too (走访), needs an ID number (or the organisation's credit code) and elects at most five
# representatives (Art. 17); a letter, a phone call or an online petition needs neither.
VISITS = (Channel.visit, Channel.video)
SIMILAR, SAME_PERSON = "similar_demands", "same_person"
MAX_SAME_PERSON_LINKS = 20


@dataclass
class PossibleRepeat:
    """An earlier matter of the same person with similar demands (重复访?)."""

    matter: Matter
    similarity: int
    reason: str = SIMILAR


def new_query_code() -> str:
    """A random, unguessable query code (查询码) of ~50 bits."""
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def similarity(a: str, b: str) -> float:
    """How alike two demand texts are (0..1)."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def identity_of(raw: dict[str, Any], field: str, *, required: bool) -> tuple[str, str]:
    """(kind, the ID number or credit code, or "") of one petitioner entry; Invalid when malformed or missing."""
    kind = raw.get("kind") or "citizen"
    if kind not in KINDS:
        raise Invalid("error.petitioner_kind", field=f"{field}.kind", kind=kind)
    if kind in ORGANISATIONS:
        code = (raw.get("credit_code") or "").strip()
        if code or required:
            return kind, normalize_credit_code(code, field=f"{field}.credit_code")
        return kind, ""
    number = (raw.get("id_number") or "").strip()
    if number or required:
        return kind, normalize_id_number(number, field=f"{field}.id_number")
    return kind, ""


def lookup_key(protector: Protector, kind: str, number: str) -> str | None:
    """The keyed hash that finds this person or organisation again (None without a number)."""
    if not number:
        return None
    return protector.lookup_hash(credit_lookup_key(number) if kind in ORGANISATIONS else number)


def _petitioner(protector: Protector, index: int, raw: dict[str, Any], *, db: Session,
                visit: bool) -> Petitioner:
    field = f"petitioners.{index}"
    name = clean_name(raw.get("name"), field=f"{field}.name")
    kind, number = identity_of(raw, field, required=visit)
    phone = normalize_phone(raw.get("phone"), field=f"{field}.phone")
    address = normalize_address(raw.get("address"), field=f"{field}.address")
    if not number and not phone and not address:
        # Without an ID number the office must still be able to answer: a phone or an address.
        raise Invalid("error.contact_required", field=f"{field}.phone")
    key = lookup_key(protector, kind, number)
    person = db.scalar(select(Petitioner).where(Petitioner.id_hash == key)) if key else None
    if person is None:
        person = Petitioner(name=name, kind=kind, id_hash=key, id_cipher=protector.encrypt(number),
                            id_tail=number[-4:])
        db.add(person)
    if phone:
        person.phone_cipher, person.phone_tail = protector.encrypt(phone), phone[-4:]
    if address:
        person.address_cipher = protector.encrypt(address)
    return person


def find_repeats(petitioner_ids: list[int], demands: list[tuple[str, str]], exclude_id: int | None = None,
                 *, db: Session) -> list[PossibleRepeat]:
    """Earlier matters of these petitioners whose demands resemble DEMANDS (summary, category)."""
    if not petitioner_ids:
        return []
    earlier = db.scalars(
        select(Matter).join(MatterPetitioner).where(MatterPetitioner.petitioner_id.in_(petitioner_ids))
        .order_by(Matter.id).distinct()
    ).all()
    found, same = [], []
    for matter in earlier:
        if matter.id == exclude_id:
            continue
        best, closest = 0.0, 0.0
        for summary, category in demands:
            for old in matter.demands:
                score = similarity(summary, old.summary)
                closest = max(closest, score)
                if score >= REPEAT_THRESHOLD or (old.category == category and score >= SAME_CATEGORY_THRESHOLD):
                    best = max(best, score)
        if best:
            found.append(PossibleRepeat(matter, round(best * 100)))
        else:
            # The same person (by ID number or credit code) whatever the wording: linked, for the handler to judge.
            same.append(PossibleRepeat(matter, round(closest * 100), SAME_PERSON))
    return found + same[-MAX_SAME_PERSON_LINKS:]


def check_new(*, db: Session, protector: Protector, petitioners: list[dict[str, Any]],
              demands: list[dict[str, Any]], actor_id: int | None = None) -> list[PossibleRepeat]:
    """Repeat check before registering (the form shows it as a warning); a search by ID number is audited."""
    ids, searched = [], 0
    for index, raw in enumerate(petitioners):
        try:
            key = lookup_key(protector, *identity_of(raw, f"petitioners.{index}", required=False))
        except Invalid:
            continue
        if key is None:
            continue
        searched += 1
        found = db.scalar(select(Petitioner.id).where(Petitioner.id_hash == key))
        if found:
            ids.append(found)
    if searched:
        audit.record(db=db, action="matter.identity_search", entity_type="person", entity_id=actor_id or 0,
                     actor_id=actor_id, data={"id_numbers": searched, "found": len(ids)})
    return find_repeats(ids, [(d.get("summary", ""), d.get("category", "")) for d in demands], db=db)


def register(
    *,
    db: Session,
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
    facts: str = "",
    accused_text: str = "",
    accused_node_id: int | None = None,
    people_count: int | None = None,
    accusation: bool = False,
) -> tuple[Matter, str, list[PossibleRepeat]]:
    """Register a matter; returns it, its query code (shown once) and possible repeats."""
    try:
        channel_value = Channel(channel)
    except ValueError:
        raise Invalid("error.channel_unknown", field="channel", channel=channel) from None
    visit = channel_value in VISITS
    if not petitioners and (not accusation or visit):
        # Only an accusation (检举控告) by letter, phone or online may come without a name.
        raise Invalid("error.petitioners_required", field="petitioners")
    if len(petitioners) > MAX_PETITIONERS:
        raise Invalid("error.too_many_petitioners", field="petitioners", max=MAX_PETITIONERS)
    representatives = sorted(set(representatives or []))
    if any(not 0 <= i < len(petitioners) for i in representatives):
        raise Invalid("error.representative_index", field="representatives")
    if visit and (len(representatives) > MAX_REPRESENTATIVES
                  or (len(petitioners) > MAX_REPRESENTATIVES and not representatives)):
        raise TooManyRepresentatives(field="representatives", max=MAX_REPRESENTATIVES)
    count = max(len(petitioners), 1) if people_count is None else people_count
    if not max(len(petitioners), 1) <= count <= MAX_PEOPLE:
        raise Invalid("error.people_count", field="people_count", min=max(len(petitioners), 1), max=MAX_PEOPLE)
    facts, accused_text = (facts or "").strip(), " ".join((accused_text or "").split())
    if len(facts) > MAX_FACTS_CHARS:
        raise Invalid("error.facts_too_long", field="facts", max=MAX_FACTS_CHARS)
    if len(accused_text) > MAX_ACCUSED_CHARS:
        raise Invalid("error.accused_too_long", field="accused_text", max=MAX_ACCUSED_CHARS)
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
    moment = now()
    received = received_at or moment
    if received.tzinfo is None:
        raise Invalid("error.time_zone_required", field="received_at")
    if received > moment + timedelta(minutes=5):
        raise Invalid("error.received_in_future", field="received_at")
    origin = db.get(Node, origin_node_id)
    if origin is None:
        raise NotFound("error.node_not_found", field="origin_node_id", id=origin_node_id)
    if origin.kind is not NodeKind.region:
        raise Invalid("error.origin_not_region", field="origin_node_id")
    office = db.get(Node, handling_node_id)
    if office is None:
        raise NotFound("error.node_not_found", field="handling_node_id", id=handling_node_id)
    accused = None
    if accused_node_id is not None:
        accused = db.get(Node, accused_node_id)
        if accused is None:
            raise NotFound("error.node_not_found", field="accused_node_id", id=accused_node_id)
    if accusation and not (accused or accused_text):
        raise Invalid("error.accused_required", field="accused_text")
    if accusation and accused is not None and office.path.startswith(accused.path):
        # The accused unit cannot handle an accusation against itself: register it with the body above.
        raise Invalid("error.accused_handles", field="handling_node_id", unit=accused.name)

    people = [_petitioner(protector, i, raw, db=db, visit=visit) for i, raw in enumerate(petitioners)]
    if len({id(p) for p in people}) != len(people):
        raise Invalid("error.petitioner_duplicate", field="petitioners")
    db.flush()
    repeats = find_repeats([p.id for p in people if p.id_hash], [(s, c.code) for s, c in cleaned], db=db)

    year = local_day(moment).year
    serial = next_value(db=db, scope=f"matter:{office.id}", year=year)
    code = new_query_code()
    matter = Matter(
        number=f"{office.code}-{year}-{serial:05d}", query_code_hash=protector.lookup_hash(code),
        origin_node_id=origin.id, handling_node_id=office.id, handling_path=office.path, channel=channel_value,
        state=MatterState.registered, is_group=count > 1,
        possible_repeat=any(r.reason == SIMILAR for r in repeats),
        received_at=received, registered_at=moment, registered_by=actor_id, facts=facts, accused_text=accused_text,
        accused_node_id=accused.id if accused else None, people_count=count, accusation=accusation,
        # An accusation, named or anonymous, is never passed to the unit it accuses (cases/confidential.py).
        confidential=accusation, hidden_from_path=accused.path if accusation and accused else None,
    )
    for position, person in enumerate(people):
        matter.petitioner_links.append(MatterPetitioner(petitioner=person, position=position,
                                                        representative=position in representatives))
    for position, (summary, category) in enumerate(cleaned):
        matter.demands.append(Demand(position=position, summary=summary, category=category.code,
                                     legal_channel=category.legal_channel))
    db.add(matter)
    db.flush()
    for repeat in repeats:
        db.add(RepeatLink(matter_id=matter.id, earlier_id=repeat.matter.id, similarity=repeat.similarity,
                               reason=repeat.reason))
    # The objection window (Art. 23) belongs to a body that received the matter by 转送/交办: it opens at the hand-over.
    open_deadline(matter, "acceptance", received, db=db, moves_off_holidays=moves_off_holidays)
    db.add(MatterEvent(matter_id=matter.id, at=moment, actor_id=actor_id, action="register",
                            to_state=MatterState.registered.value))
    audit.record(db=db, action="matter.registered", entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"number": matter.number, "handling_node_id": office.id, "petitioners": len(people),
                       "demands": len(cleaned), "people_count": count, "accusation": accusation,
                       "anonymous": not people, "accused_node_id": matter.accused_node_id,
                       "possible_repeats": [r.matter.id for r in repeats if r.reason == SIMILAR],
                       "same_person": [r.matter.id for r in repeats if r.reason == SAME_PERSON]})
    integration.registered(db=db, matter=matter)
    sms_hooks.registered(db=db, matter=matter, code=code, protector=protector, actor_id=actor_id)
    return matter, code, repeats
