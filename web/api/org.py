"""The organisation directory: nodes, rooms and people."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from scheduling import room_admin
from vreception import org, people
from vreception.auth.access import require, require_role
from vreception.clock import now
from vreception.errors import Forbidden, NotFound
from vreception.models import Node, Person, Role
from vreception.org import access, admin, directory, queries
from vreception.org.directory import Slice
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppPolicy

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


class NodeChange(BaseModel):
    """A rename, a move under another parent, or both."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=2**53)


class RetiredOut(NodeOut):
    retired_at: datetime


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


class RoomChange(BaseModel):
    """A new name, or the room switched off (or on again)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class RoomStateOut(RoomOut):
    active: bool


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


def _node(node_id: int, field: str = "node_id", *, db) -> Node:
    node = queries.node(node_id, db=db)
    if node is None:
        raise NotFound("error.node_not_found", field=field, id=node_id)
    return node


Limit = Annotated[int, Query(ge=1, le=directory.MAX_LIMIT, description="at most this many items (default 500)")]
After = Annotated[int | None, Query(ge=0, le=2**53, description="only items with a greater id (keyset)")]
LIST_HEADERS = {"X-Total-Count": {"description": "how many items the whole filtered list holds",
                                  "schema": {"type": "integer"}},
                "Link": {"description": '`<url>; rel="next"` when more items follow', "schema": {"type": "string"}}}
LIST_RESPONSES = {200: {"headers": LIST_HEADERS}, **responses(422)}


def _bounded(request: Request, response: Response, found: Slice) -> None:
    """The total and, when more remain, the link to the next slice (keyset on id)."""
    response.headers["X-Total-Count"] = str(found.total)
    if found.more and found.rows:
        following = request.url.include_query_params(after=found.rows[-1].id)
        response.headers["Link"] = f'<{following}>; rel="next"'


@router.get("/nodes", response_model=list[NodeOut], responses=LIST_RESPONSES)
def list_nodes(request: Request, response: Response, principal: ApiPrincipal, db: DbSession,
               level: Level | None = None, parent_id: int | None = Query(default=None),
               include_retired: bool = False, limit: Limit = directory.DEFAULT_LIMIT,
               after: After = None) -> list[NodeOut]:
    """Nodes by level and parent, by id (retired ones only when asked); `limit` and `after` bound the list."""
    require_role(principal, STAFF)
    found = directory.nodes(db=db, level=level, parent_id=parent_id, include_retired=include_retired, after=after,
                            limit=limit)
    _bounded(request, response, found)
    return [node_out(n) for n in found.rows]


@router.get("/nodes/{node_id}", response_model=NodeOut)
def get_node(node_id: int, principal: ApiPrincipal, db: DbSession) -> NodeOut:
    """One node."""
    require_role(principal, STAFF)
    return node_out(_node(node_id, db=db))


@router.post("/nodes", response_model=NodeOut, status_code=201, responses=responses(404, 409, 422))
def create_node(body: NodeIn, principal: ApiPrincipal, db: DbSession) -> NodeOut:
    """Add a region or department under a node the caller administers."""
    if body.parent_id is None:
        # A new province is an installation-level act: done from the command line.
        raise Forbidden()
    parent = _node(body.parent_id, "parent_id", db=db)
    require(principal, parent, [Role.admin])
    admin.require_current(parent, "parent_id")
    node = org.create_node(db=db, code=body.code, name=body.name, level=body.level, kind=body.kind,
                           parent_id=body.parent_id, actor_id=principal.person_id)
    return node_out(node)


@router.get("/rooms", response_model=list[RoomOut], responses=LIST_RESPONSES)
def list_rooms(request: Request, response: Response, principal: ApiPrincipal, db: DbSession,
               node_id: int | None = None, limit: Limit = directory.DEFAULT_LIMIT,
               after: After = None) -> list[RoomOut]:
    """Active video rooms, optionally at one node, by id; `limit` and `after` bound the list."""
    require_role(principal, STAFF)
    found = directory.rooms(db=db, node_id=node_id, after=after, limit=limit)
    _bounded(request, response, found)
    return [RoomOut(id=r.id, node_id=r.node_id, name=r.name) for r in found.rows]


@router.post("/rooms", response_model=RoomOut, status_code=201, responses=responses(404, 409, 422))
def create_room(body: RoomIn, principal: ApiPrincipal, db: DbSession) -> RoomOut:
    """Add a video room at a current node the caller administers (409 node_retired at a retired one)."""
    node = access.node_for_admin(principal, body.node_id, db=db)
    room = room_admin.add_room(db=db, node=node, name=body.name, actor_id=principal.person_id)
    return RoomOut(id=room.id, node_id=room.node_id, name=room.name)


@router.get("/people", response_model=list[PersonOut], responses=LIST_RESPONSES)
def list_people(request: Request, response: Response, principal: ApiPrincipal, db: DbSession,
                role: str | None = None, node_id: int | None = None, limit: Limit = directory.DEFAULT_LIMIT,
                after: After = None) -> list[PersonOut]:
    """Active people by role and node, by id; `limit` and `after` bound the list."""
    require_role(principal, STAFF)
    found = directory.people(db=db, role=role, node_id=node_id, after=after, limit=limit)
    _bounded(request, response, found)
    return [person_out(p) for p in found.rows]


@router.post("/people", response_model=PersonOut, status_code=201)
def create_person(body: PersonIn, principal: ApiPrincipal, db: DbSession) -> PersonOut:
    """Add a person (and their roles) at a node the caller administers."""
    require(principal, _node(body.node_id, db=db), [Role.admin])
    for role in body.roles:
        if role.node_id is not None:
            require(principal, _node(role.node_id, db=db), [Role.admin])
        if role.room_id is not None:
            room = queries.room(role.room_id, db=db)
            if room is None:
                raise NotFound("error.room_not_found", field="room_id", id=role.room_id)
            require(principal, room.node, [Role.admin])
    person = people.create_person(db=db, name=body.name, title=body.title, node_id=body.node_id,
                                  username=body.username, password=body.password, actor_id=principal.person_id)
    for role in body.roles:
        people.assign_role(db=db, person=person, role=role.role, node_id=role.node_id, room_id=role.room_id,
                           actor_id=principal.person_id)
    return person_out(person)


# ---- administration: nodes (administrators) and rooms (administrators; hours and closures coordinators too) ----

@router.patch("/nodes/{node_id}", response_model=NodeOut, responses=responses(404, 409, 422))
def change_node(node_id: int, body: NodeChange, principal: ApiPrincipal, db: DbSession) -> NodeOut:
    """Rename a node and/or move it (with its subtree) under another parent of the fitting level."""
    node = access.node_for_admin(principal, node_id, db=db)
    if body.parent_id is not None and body.parent_id != node.parent_id:
        if node.parent is not None:
            require(principal, node.parent, [Role.admin])  # the node leaves its parent's care
        parent = access.node_for_admin(principal, body.parent_id, "parent_id", db=db)
        node = admin.move_node(db=db, node=node, parent=parent, actor_id=principal.person_id)
    if body.name is not None:
        node = admin.rename_node(db=db, node=node, name=body.name, actor_id=principal.person_id)
    return node_out(node)


@router.post("/nodes/{node_id}/retire", response_model=RetiredOut,
             responses=responses(404, 409, 422, s409="node_in_use, node_retired"))
def retire_node(node_id: int, principal: ApiPrincipal, db: DbSession) -> RetiredOut:
    """Retire (撤并) a node and its subtree; 409 node_in_use while people, rooms, matters or sessions remain."""
    node = admin.retire_node(db=db, node=access.node_for_admin(principal, node_id, db=db), actor_id=principal.person_id)
    assert node.retired_at is not None
    return RetiredOut(**node_out(node).model_dump(), retired_at=node.retired_at)


@router.patch("/rooms/{room_id}", response_model=RoomStateOut,
              responses=responses(404, 409, 422, s409="room_in_use, node_retired"))
def change_room(room_id: int, body: RoomChange, principal: ApiPrincipal, db: DbSession) -> RoomStateOut:
    """Rename a room, or deactivate it (409 room_in_use while sessions to come hold it) or bring it back."""
    room = access.room_for_admin(principal, room_id, db=db)
    if body.name is not None:
        room_admin.rename_room(db=db, room=room, name=body.name, actor_id=principal.person_id)
    if body.active is not None:
        room_admin.set_active(db=db, room=room, active=body.active, actor_id=principal.person_id)
    return RoomStateOut(id=room.id, node_id=room.node_id, name=room.name, active=room.active)


class HoursOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    weekday: int | None
    opens: time
    closes: time


class ClosureDaysIn(BaseModel):
    """Whole local days FIRST through LAST, with the reason."""

    model_config = ConfigDict(extra="forbid")
    first: date
    last: date
    reason: str = Field(max_length=200)


class ClosureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    room_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


class RoomDetailOut(RoomStateOut):
    hours: list[HoursOut]
    closures: list[ClosureOut]


@router.get("/rooms/{room_id}", response_model=RoomDetailOut, responses=responses(404))
def get_room(room_id: int, principal: ApiPrincipal, db: DbSession) -> RoomDetailOut:
    """A room with its weekly hours and its closures not yet over (coordinators over the room)."""
    room = access.room_for_keeper(principal, room_id, db=db)
    return RoomDetailOut(id=room.id, node_id=room.node_id, name=room.name, active=room.active,
                         hours=[HoursOut.model_validate(h) for h in room_admin.hours_of(room, db=db)],
                         closures=[ClosureOut.model_validate(c)
                                   for c in room_admin.closures_of(room, db=db, since=now())])


@router.post("/rooms/{room_id}/closed-days", response_model=ClosureOut, status_code=201,
             responses=responses(404, 422))
def close_room_days(room_id: int, body: ClosureDaysIn, principal: ApiPrincipal, db: DbSession,
                    policy: AppPolicy) -> ClosureOut:
    """Close a room for whole local days with a reason (coordinators over the room)."""
    room = access.room_for_keeper(principal, room_id, db=db)
    closure = room_admin.close_days(db=db, room=room, policy=policy, first=body.first, last=body.last,
                                    reason=body.reason, actor_id=principal.person_id)
    return ClosureOut.model_validate(closure)


@router.delete("/rooms/{room_id}/closures/{closure_id}", status_code=204, responses=responses(404))
def remove_closure(room_id: int, closure_id: int, principal: ApiPrincipal, db: DbSession) -> Response:
    """Lift a room's closure (coordinators over the room)."""
    room = access.room_for_keeper(principal, room_id, db=db)
    room_admin.remove_closure(db=db, room=room, closure_id=closure_id, actor_id=principal.person_id)
    return Response(status_code=204)
