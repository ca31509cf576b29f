"""Loading the things a booking names: leaders, rooms, people, matters."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, joinedload, lazyload

from vreception.errors import Invalid, NotFound
from vreception.models.cases import Matter
from vreception.models.org import Node, Room
from vreception.models.people import Person, Role, RoleAssignment

# The booking path's statements, built once (only the ids change from call to call).
_IS_LEADER = exists(select(RoleAssignment.id).where(RoleAssignment.person_id == Person.id,
                                                    RoleAssignment.role == Role.leader))
_LEADER = (select(Person, _IS_LEADER).where(Person.id == bindparam("leader_id"))
           .options(joinedload(Person.node), lazyload(Person.roles)))
_ROOM = select(Room).where(Room.id == bindparam("room_id")).options(joinedload(Room.node))
# Deadlines load only when a rule needs them; petitioners and demands never on this path.
_MATTER = select(Matter).where(Matter.id == bindparam("matter_id")).options(
    lazyload(Matter.petitioner_links), lazyload(Matter.demands), lazyload(Matter.deadlines))


def load_leader(leader_id: int, field: str = "leader_id", *, db: Session) -> Person:
    """An active person holding the leader role, or NotFound / Invalid."""
    # One query on the booking path: the person, their node, and whether they hold the leader role.
    row = db.execute(_LEADER, {"leader_id": leader_id}).first()
    if row is None or not row[0].active:
        raise NotFound("error.person_not_found", field=field, id=leader_id)
    if not row[1]:
        raise Invalid("error.not_a_leader", field=field, name=row[0].name)
    return row[0]


def load_person(person_id: int, field: str = "person_id", *, db: Session) -> Person:
    """An active person, or NotFound."""
    person = db.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound("error.person_not_found", field=field, id=person_id)
    return person


def load_room(room_id: int, field: str = "room_id", *, db: Session) -> Room:
    """An active room, or NotFound."""
    room = db.scalar(_ROOM, {"room_id": room_id})
    if room is None or not room.active:
        raise NotFound("error.room_not_found", field=field, id=room_id)
    return room


def load_matter(matter_id: int, field: str = "matter_id", *, db: Session) -> Matter:
    """A matter, or NotFound."""
    matter = db.scalar(_MATTER, {"matter_id": matter_id})
    if matter is None:
        raise NotFound("error.matter_not_found", field=field, id=matter_id)
    return matter


def region_of(node: Node, *, db: Session) -> Node:
    """The region a node belongs to: itself, or a department's parent region."""
    if node.kind.value == "department" and node.parent_id is not None:
        parent = db.get(Node, node.parent_id)
        assert parent is not None  # a foreign key of the node
        return parent
    return node
