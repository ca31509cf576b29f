"""The panel of hearing members (听证员): an allowed odd number from the office's roster, none who acted on the matter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.errors import Conflict, Invalid, NotFound
from vreception.hearings import errors
from vreception.hearings.acted import acted_on
from vreception.hearings.procedure import S, matter_of, record, require_state
from vreception.models import Node, Person, Role
from vreception.models.hearings import Hearing, PanelMember, RosterEntry


@dataclass(frozen=True)
class Seat:
    """A member as the office names them, and whether the petitioner chose them (jointly chosen)."""

    person_id: int
    chosen_by_petitioner: bool = False


def ancestors(node_id: int, *, db: Session) -> list[int]:
    """NODE_ID and every node above it."""
    out, node = [], db.get(Node, node_id)
    while node is not None:
        out.append(node.id)
        node = db.get(Node, node.parent_id) if node.parent_id else None
    return out


def on_roster(node_id: int, *, db: Session) -> dict[int, RosterEntry]:
    """The active roster entries of the office NODE_ID and the offices above it, by person."""
    entries = db.scalars(select(RosterEntry).where(RosterEntry.node_id.in_(ancestors(node_id, db=db)),
                                                   RosterEntry.active.is_(True)).order_by(RosterEntry.id))
    return {e.person_id: e for e in entries}


def sitting(hearing: Hearing) -> list[PanelMember]:
    """The members who sit: not withdrawn after a granted 回避."""
    return [m for m in hearing.panel if not m.withdrawn]


def check_size(count: int, sizes: Sequence[int]) -> None:
    """PanelSize unless COUNT is one of the allowed odd SIZES."""
    if count % 2 == 0 or count not in sizes:
        raise errors.PanelSize("error.panel_size", field="members", sizes="、".join(str(s) for s in sizes))


def compose(*, db: Session, hearing: Hearing, seats: Sequence[Seat], sizes: Sequence[int],
            actor_id: int | None) -> Hearing:
    """Set the sitting panel to SEATS; withdrawn members stay withdrawn and may not come back."""
    require_state(hearing, S.decided, S.noticed)
    ids = [s.person_id for s in seats]
    if len(set(ids)) != len(ids):
        raise Invalid("error.panel_twice", field="members")
    check_size(len(ids), sizes)
    roster = on_roster(hearing.node_id, db=db)
    acted = acted_on(matter_of(hearing, db=db), db=db) | {hearing.chair_id}
    withdrawn = {m.person_id for m in hearing.panel if m.withdrawn}
    for i, seat in enumerate(seats):
        person = db.get(Person, seat.person_id)
        if person is None:
            raise NotFound("error.person_not_found", field=f"members.{i}", id=seat.person_id)
        if seat.person_id not in roster:
            raise errors.PanelNotOnRoster("error.panel_not_on_roster", field=f"members.{i}", name=person.name)
        if seat.person_id in acted or seat.person_id in withdrawn or seat.person_id == hearing.recorder_id:
            raise errors.PanelConflict("error.panel_conflict", field=f"members.{i}", name=person.name)
    if hearing.state is S.noticed and {m.person_id for m in sitting(hearing)} - set(ids):
        # Once noticed, only a withdrawn member's place may be filled; nobody noticed is dropped.
        raise errors.HearingState("error.panel_noticed")
    keep = {m.person_id: m for m in hearing.panel}
    for member in list(hearing.panel):
        if not member.withdrawn and member.person_id not in ids:
            hearing.panel.remove(member)
    for seat in seats:
        kept = keep.get(seat.person_id)
        if kept is None:
            hearing.panel.append(PanelMember(person_id=seat.person_id, chosen_by_petitioner=seat.chosen_by_petitioner))
        else:
            kept.chosen_by_petitioner = seat.chosen_by_petitioner
    db.flush()
    record(hearing, "panel", actor_id, db=db, members=ids,
           chosen_by_petitioner=[s.person_id for s in seats if s.chosen_by_petitioner])
    return hearing


def require_complete(hearing: Hearing, sizes: Sequence[int]) -> None:
    """The hearing may proceed only with a chair, a recorder and a sitting panel of an allowed size."""
    if hearing.chair_id is None or hearing.recorder_id is None:
        raise Invalid("error.hearing_unstaffed", field="chair_id")
    check_size(len(sitting(hearing)), sizes)


# ---- the roster ------------------------------------------------------------------------------------------------------

def add_to_roster(*, db: Session, node_id: int, person_id: int, profession: str = "",
                  actor_id: int | None) -> RosterEntry:
    """Put a person with the hearing member role on the office's roster (or back on it)."""
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound("error.person_not_found", field="person_id", id=person_id)
    if not any(a.role is Role.hearing_member for a in person.roles):
        raise Invalid("error.roster_not_hearing_member", field="person_id", name=person.name)
    entry = db.scalars(select(RosterEntry).where(RosterEntry.node_id == node_id,
                                                 RosterEntry.person_id == person_id)).first()
    if entry is not None and entry.active:
        raise Conflict("error.roster_already", field="person_id", name=person.name)
    if entry is None:
        entry = RosterEntry(node_id=node_id, person_id=person_id)
        db.add(entry)
    entry.active, entry.profession = True, (profession or "").strip()[:100]
    db.flush()
    audit.record(db=db, action="hearing_roster.added", entity_type="hearing_roster", entity_id=entry.id,
                 actor_id=actor_id, data={"node_id": node_id, "person_id": person_id, "profession": entry.profession})
    return entry


def remove_from_roster(*, db: Session, entry: RosterEntry, actor_id: int | None) -> RosterEntry:
    """Take a member off the roster (kept, inactive: past panels still name them)."""
    entry.active = False
    db.flush()
    audit.record(db=db, action="hearing_roster.removed", entity_type="hearing_roster", entity_id=entry.id,
                 actor_id=actor_id, data={"node_id": entry.node_id, "person_id": entry.person_id})
    return entry


def load_entry(entry_id: int, *, db: Session) -> RosterEntry:
    """A roster entry by id, or NotFound."""
    entry = db.get(RosterEntry, entry_id)
    if entry is None:
        raise NotFound("error.roster_entry_not_found", field="entry_id", id=entry_id)
    return entry
