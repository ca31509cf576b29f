"""The organisation directory: nodes, rooms and people."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from vreception import org, people
from vreception.auth.access import require, require_role
from vreception.errors import Forbidden, NotFound
from vreception.models import Node, Person, Role
from vreception.org import queries
from web.deps import ApiPrincipal, DbSession

router = APIRouter(tags=["organisation"])

# The directory is open to every staff role (a township coordinator books a county leader);
# kiosk accounts of video rooms do not browse it.
STAFF = (Role.coordinator, Role.leader, Role.handler, Role.hearing_member)
Level = Literal["province", "city", "county", "township"]


class NodeOut(BaseModel):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    kind: str


class NodeIn(BaseModel):
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    level: str
    kind: str = "region"
    parent_id: int | None = None


class RoomOut(BaseModel):
    id: int
    node_id: int
    name: str


class RoomIn(BaseModel):
    node_id: int
    name: str = Field(max_length=200)


class PersonOut(BaseModel):
    id: int
    name: str
    title: str
    roles: list[str]
    node_id: int


class RoleIn(BaseModel):
    role: str
    node_id: int | None = None
    room_id: int | None = None


class PersonIn(BaseModel):
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    node_id: int
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    roles: list[RoleIn] = Field(default_factory=list, max_length=20)


def node_out(node: Node) -> NodeOut:
    return NodeOut(id=node.id, code=node.code, name=node.name, level=node.level.value,
                   parent_id=node.parent_id, kind=node.kind.value)


def person_out(person: Person) -> PersonOut:
    return PersonOut(id=person.id, name=person.name, title=person.title, roles=person.role_names,
                     node_id=person.node_id)


def _node(db, node_id: int, field: str = "node_id") -> Node:
    node = queries.node(db, node_id)
    if node is None:
        raise NotFound("error.node_not_found", field=field, id=node_id)
    return node


@router.get("/nodes", response_model=list[NodeOut])
def list_nodes(principal: ApiPrincipal, db: DbSession, level: Level | None = None,
               parent_id: int | None = Query(default=None)) -> list[NodeOut]:
    """Nodes by level and parent."""
    require_role(principal, STAFF)
    return [node_out(n) for n in org.list_nodes(db, level=level, parent_id=parent_id)]


@router.get("/nodes/{node_id}", response_model=NodeOut)
def get_node(node_id: int, principal: ApiPrincipal, db: DbSession) -> NodeOut:
    """One node."""
    require_role(principal, STAFF)
    return node_out(_node(db, node_id))


@router.post("/nodes", response_model=NodeOut, status_code=201)
def create_node(body: NodeIn, principal: ApiPrincipal, db: DbSession) -> NodeOut:
    """Add a region or department under a node the caller administers."""
    if body.parent_id is None:
        # A new province is an installation-level act: done from the command line.
        raise Forbidden()
    require(principal, _node(db, body.parent_id, "parent_id"), [Role.admin])
    node = org.create_node(db, code=body.code, name=body.name, level=body.level, kind=body.kind,
                           parent_id=body.parent_id, actor_id=principal.person_id)
    return node_out(node)


@router.get("/rooms", response_model=list[RoomOut])
def list_rooms(principal: ApiPrincipal, db: DbSession, node_id: int | None = None) -> list[RoomOut]:
    """Video rooms, optionally at one node."""
    require_role(principal, STAFF)
    return [RoomOut(id=r.id, node_id=r.node_id, name=r.name) for r in queries.active_rooms(db, node_id=node_id)]


@router.post("/rooms", response_model=RoomOut, status_code=201)
def create_room(body: RoomIn, principal: ApiPrincipal, db: DbSession) -> RoomOut:
    """Add a video room at a node the caller administers."""
    require(principal, _node(db, body.node_id), [Role.admin])
    room = org.create_room(db, node_id=body.node_id, name=body.name, actor_id=principal.person_id)
    return RoomOut(id=room.id, node_id=room.node_id, name=room.name)


@router.get("/people", response_model=list[PersonOut])
def list_people(principal: ApiPrincipal, db: DbSession, role: str | None = None,
                node_id: int | None = None) -> list[PersonOut]:
    """People by role and node."""
    require_role(principal, STAFF)
    return [person_out(p) for p in people.list_people(db, role=role, node_id=node_id)]


@router.post("/people", response_model=PersonOut, status_code=201)
def create_person(body: PersonIn, principal: ApiPrincipal, db: DbSession) -> PersonOut:
    """Add a person (and their roles) at a node the caller administers."""
    require(principal, _node(db, body.node_id), [Role.admin])
    for role in body.roles:
        if role.node_id is not None:
            require(principal, _node(db, role.node_id), [Role.admin])
        if role.room_id is not None:
            room = queries.room(db, role.room_id)
            if room is None:
                raise NotFound("error.room_not_found", field="room_id", id=role.room_id)
            require(principal, room.node, [Role.admin])
    person = people.create_person(db, name=body.name, title=body.title, node_id=body.node_id,
                                  username=body.username, password=body.password, actor_id=principal.person_id)
    for role in body.roles:
        people.assign_role(db, person=person, role=role.role, node_id=role.node_id, room_id=role.room_id,
                           actor_id=principal.person_id)
    return person_out(person)
